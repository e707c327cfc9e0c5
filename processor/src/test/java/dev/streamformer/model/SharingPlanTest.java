package dev.streamformer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SharingPlanTest {

    @Test
    void mapsSixLayersOntoThreeGroupsAsSequenceCycleAndCycleReverse() {
        assertThat(SharingPlan.letters(SharingStrategy.SEQUENCE.layerToSet(6, 3))).isEqualTo("AABBCC");
        assertThat(SharingPlan.letters(SharingStrategy.CYCLE.layerToSet(6, 3))).isEqualTo("ABCABC");
        assertThat(SharingPlan.letters(SharingStrategy.CYCLE_REVERSE.layerToSet(6, 3))).isEqualTo("ABCCBA");
        assertThat(SharingPlan.letters(SharingStrategy.CYCLE_REVERSE.layerToSet(9, 3))).isEqualTo("ABCABCCBA");
        assertThat(SharingPlan.letters(SharingStrategy.NONE.layerToSet(6, 0))).isEqualTo("ABCDEF");
        assertThat(SharingPlan.letters(SharingStrategy.ALL.layerToSet(6, 1))).isEqualTo("AAAAAA");
    }

    @Test
    void recognisesThePlansThatAlbertCanExpress() {
        assertThat(SharingPlan.NONE.albertGroups(6)).hasValue(6);
        assertThat(SharingPlan.ALL.albertGroups(6)).hasValue(1);
        assertThat(SharingPlan.both(SharingStrategy.SEQUENCE, 3).albertGroups(6)).hasValue(3);
        assertThat(SharingPlan.both(SharingStrategy.CYCLE, 3).albertGroups(6)).isEmpty();
        assertThat(SharingPlan.ATTENTION_ONLY.albertGroups(6)).isEmpty();
        assertThat(SharingPlan.FFN_ONLY.albertGroups(6)).isEmpty();
    }

    @Test
    void rejectsMoreGroupsThanLayers() {
        assertThatThrownBy(() -> SharingStrategy.CYCLE.layerToSet(4, 5))
                .hasMessageContaining("1 <= groups <= 4");
    }

    @Test
    void configRoundTripsThroughJsonWithTheExtension() {
        final ModelConfig config = TestModels.small(SharingPlan.both(SharingStrategy.CYCLE_REVERSE, 3))
                .withKeyValueHeads(2);
        final ModelConfig read = ModelConfig.fromJson(config.toJson());
        assertThat(read).isEqualTo(config);
        assertThat(config.toJson()).contains("\"model_type\": \"albert\"").contains("\"attention_layer_map\": \"ABCCBA\"");
    }

    @Test
    void aRelaxedConfigRoundTripsUsesTheExtensionNamesAndRelaxesOnlySharedSets() {
        final ModelConfig config = TestModels.small(SharingPlan.ALL).withRelaxRank(8);
        assertThat(config.toJson()).contains("\"relax_rank\": 8");
        assertThat(TestModels.small(SharingPlan.ALL).toJson()).doesNotContain("relax_rank");
        assertThat(ModelConfig.fromJson(config.toJson())).isEqualTo(config);
        assertThat(config.albertGroups()).as("ALBERT cannot express deltas").isEmpty();
        assertThat(ParameterLayout.attentionPrefix(config, 0)).isEqualTo("albert.encoder.attention_sets.0.");
        // Feed-forward per layer, attention shared: only attention matrices carry deltas.
        final ModelConfig attentionOnly = TestModels.small(SharingPlan.ATTENTION_ONLY).withRelaxRank(2);
        assertThat(ParameterLayout.relaxedMatrices(attentionOnly, 3)).containsExactly("attention.query",
                "attention.key", "attention.value", "attention.dense");
        // Cycle with 2 groups over 6 layers: every set is used three times.
        final ModelConfig cycle = TestModels.small(SharingPlan.both(SharingStrategy.CYCLE, 2)).withRelaxRank(2);
        assertThat(ParameterLayout.relaxedMatrices(cycle, 5)).hasSize(6);
        assertThat(ParameterLayout.deltaRank(config, 64, 32)).isEqualTo(8);
        assertThat(TestModels.small(SharingPlan.ALL).withRelaxRank(100).relaxRank()).isEqualTo(100);
        assertThat(ParameterLayout.deltaRank(TestModels.small(SharingPlan.ALL).withRelaxRank(100), 64, 32))
                .as("capped at the smaller side").isEqualTo(32);
    }

    @Test
    void relaxingAPlanThatSharesNothingOrANegativeRankIsRefused() {
        assertThatThrownBy(() -> TestModels.small(SharingPlan.NONE).withRelaxRank(4))
                .hasMessageContaining("relax_rank=4 needs a plan in which layers share a set");
        assertThatThrownBy(() -> TestModels.small(SharingPlan.ALL).withRelaxRank(-1))
                .hasMessageContaining("relax_rank must be 0 (none) or positive");
    }

    @Test
    void readsAPlainAlbertConfigAsSequenceGroups() {
        final String json = """
                {"model_type": "albert", "vocab_size": 30000, "embedding_size": 128, "hidden_size": 768,
                 "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
                 "num_hidden_groups": 1, "inner_group_num": 1, "hidden_act": "gelu_new",
                 "id2label": {"0": "neg", "1": "pos"}}""";
        final ModelConfig config = ModelConfig.fromJson(json);
        assertThat(config.plan().attentionMap(12)).containsOnly(0);
        assertThat(config.numKeyValueHeads()).isEqualTo(12);
        assertThat(config.embeddingProjection()).isTrue();
        assertThat(config.albertGroups()).hasValue(1);
        assertThat(config.labels()).containsExactly("neg", "pos");
    }

    @Test
    void reportsEveryConfigProblemAtOnce() {
        assertThatThrownBy(() -> new ModelConfig(0, 16, 30, 6, 4, 3, 64, 40, 2, Activation.GELU, 1e-12, true,
                SharingPlan.NONE, java.util.List.of("a", "b")))
                .hasMessageContaining("vocab_size must be positive")
                .hasMessageContaining("hidden_size (30) must be a multiple of num_attention_heads (4)")
                .hasMessageContaining("must be a multiple of num_key_value_heads (3)");
    }
}
