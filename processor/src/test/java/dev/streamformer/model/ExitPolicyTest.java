package dev.streamformer.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a record leaves under each policy, reading only the exits up to there, and the policy in config.json. */
class ExitPolicyTest {

    @TempDir
    Path dir;

    /** Four layers, two records; logits per layer, rows (ham, spam). */
    private static final float[][] DEPTHS = {
        {0f, 0.1f, /* row 1 */ 3f, 0f},   // layer 1: row 0 p(spam)=0.52; row 1 p(ham)=0.95
        {0f, 0.5f, 0f, 1f},               // layer 2: row 0 spam 0.62; row 1 spam 0.73
        {0f, 4f, 3f, 0f},                 // layer 3: row 0 spam 0.98; row 1 ham 0.95
        {0f, 5f, 0f, 3f}};                // layer 4: row 0 spam; row 1 spam

    @Test
    void confidenceLeavesAtTheFirstExitSureEnoughAndPatienceAfterAgreeingExits() {
        final ExitPolicy sure = ExitPolicy.parse("confidence:0.9");
        assertThat(sure.exitLayer(DEPTHS, 0, 2)).as("row 0 reaches 0.98 at layer 3").isEqualTo(2);
        assertThat(sure.exitLayer(DEPTHS, 1, 2)).as("row 1 is sure at layer 1").isZero();
        final ExitPolicy patient = ExitPolicy.parse("patience:2");
        assertThat(patient.exitLayer(DEPTHS, 0, 2)).as("spam, spam at layers 1-2").isEqualTo(1);
        assertThat(patient.exitLayer(DEPTHS, 1, 2)).as("ham, spam, ham, spam: never two in a row").isEqualTo(3);
        assertThat(ExitPolicy.parse("patience:1").exitLayer(DEPTHS, 1, 2)).isZero();
        assertThat(ExitPolicy.NONE.exitLayer(DEPTHS, 0, 2)).isEqualTo(3);
        assertThat(ExitPolicy.parse("confidence:1").exitLayer(DEPTHS, 0, 2)).as("never sure: every layer").isEqualTo(3);
        assertThat(ExitPolicy.parse(" Confidence:0.95 ").toString()).isEqualTo("confidence:0.95");
        assertThatThrownBy(() -> ExitPolicy.parse("confidence:2")).hasMessageContaining("probability in (0, 1]");
        assertThatThrownBy(() -> ExitPolicy.parse("patience:0")).hasMessageContaining("at least 1");
        assertThatThrownBy(() -> ExitPolicy.parse("fast")).hasMessageContaining("none, confidence:<p>");
    }

    @Test
    void aModelsDefaultPolicyLivesInItsConfigJsonBesideTheRest() throws Exception {
        final ModelConfig config = TestModels.small(SharingPlan.ALL).withExits(ExitHeads.SHARED);
        TestModels.randomized(config, 5).save(dir);
        assertThat(ExitPolicy.read(dir)).isEqualTo(ExitPolicy.NONE);
        ExitPolicy.parse("patience:2").write(dir);
        assertThat(ExitPolicy.read(dir)).isEqualTo(ExitPolicy.parse("patience:2"));
        assertThat(ModelConfig.read(dir)).as("the rest of config.json is kept").isEqualTo(config);
        assertThat(Files.readString(dir.resolve(ModelDirectory.CONFIG))).contains("\"exit_policy\": \"patience:2\"");
    }
}
