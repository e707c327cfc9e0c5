package dev.streamformer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/** Misspelt config.json keys are errors that name the key meant. */
class ConfigKeysTest {

    @TempDir
    Path dir;

    private static String withKey(final String from, final String to) {
        final JsonObject o = JsonParser.parseString(TestModels.small(SharingPlan.both(SharingStrategy.CYCLE, 3)).toJson())
                .getAsJsonObject();
        rename(o, from, to);
        return o.toString();
    }

    private static void rename(final JsonObject o, final String from, final String to) {
        final int dot = from.indexOf('.');
        if (dot > 0) {
            rename(o.getAsJsonObject(from.substring(0, dot)), from.substring(dot + 1), to);
            return;
        }
        o.add(to, o.remove(from));
    }

    @Test
    void aMisspeltAlbertKeyNamesTheKeyMeant() {
        assertThatThrownBy(() -> ModelConfig.fromJson(withKey("hidden_act", "hiden_act")))
                .hasMessage("config.json key 'hiden_act' is not known: did you mean 'hidden_act'?");
    }

    @Test
    void aMisspeltExtensionKeyNamesTheKeyMeant() {
        assertThatThrownBy(() -> ModelConfig.fromJson(withKey("streamformer.attention_sharing", "atention_sharing")))
                .hasMessage("config.json key 'streamformer.atention_sharing' is not known: did you mean"
                        + " 'streamformer.attention_sharing'?");
    }

    @Test
    void otherHuggingFaceKeysAreAccepted() {
        final JsonObject o = JsonParser.parseString(TestModels.small(SharingPlan.ALL).toJson()).getAsJsonObject();
        o.addProperty("output_hidden_states", false);
        o.addProperty("gradient_checkpointing", false);
        assertThat(ModelConfig.fromJson(o.toString()).plan()).isEqualTo(TestModels.small(SharingPlan.ALL).plan());
    }

    @Test
    void weightsOfAnotherPlanNameTheSharingKeysBeforeListingTensors() throws Exception {
        final Checkpoint cycle = Checkpoint.random(TestModels.small(SharingPlan.both(SharingStrategy.CYCLE, 3)), 1);
        final ModelConfig none = TestModels.small(SharingPlan.NONE);
        assertThatThrownBy(() -> new Checkpoint(none, Map.copyOf(cycle.tensors())))
                .hasMessageContaining("The tensors follow another sharing plan: check config.json's num_hidden_groups"
                        + " and the streamformer block's attention_sharing");
    }
}
