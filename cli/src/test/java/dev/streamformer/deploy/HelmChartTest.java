package dev.streamformer.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;

/**
 * deploy/helm/streamformer, by Helm's own code (helm-java: Helm as a native library, from Maven
 * Central): {@code helm lint --strict} is clean, and {@code helm template} with the default values and
 * with every option on gives objects that the Kubernetes, KEDA and Prometheus Operator schemas accept
 * (deploy/helm/test/validate.mjs, on the npm packages kubernetes-models, @kubernetes-models/keda and
 * @kubernetes-models/prometheus-operator that .ci/run installs with {@code npm ci}); a planted mistake,
 * a port written as a string, fails that validation.
 */
class HelmChartTest {

    private static final Path DEPLOY = Path.of("..", "deploy", "helm").toAbsolutePath().normalize();
    private static final Path CHART = DEPLOY.resolve("streamformer");
    private static final Path VALIDATOR = DEPLOY.resolve("test");
    private static final Path OUT = Path.of("target", "helm").toAbsolutePath();
    /** The Kubernetes version rendered for: the chart's kubeVersion allows 1.25 and later. */
    private static final String KUBE = "1.31.0";

    @BeforeAll
    static void theValidatorIsInstalled() throws IOException {
        assertThat(VALIDATOR.resolve("node_modules").resolve("kubernetes-models"))
                .as("the schema validator's packages: run npm ci --prefix deploy/helm/test (.ci/run does)").isDirectory();
        Files.createDirectories(OUT);
    }

    @Test
    void lintIsClean() {
        final LintResult lint = new Helm(CHART).lint().strict().call();
        assertThat(lint.isFailed()).as(String.join("\n", lint.getMessages())).isFalse();
        assertThat(lint.getMessages()).as("helm lint --strict messages").noneMatch(m -> m.contains("[WARNING]")
                || m.contains("[ERROR]"));
    }

    @Test
    void theDefaultValuesRenderObjectsTheSchemasAccept() throws Exception {
        final String yaml = new Helm(CHART).template().withKubeVersion(KUBE).withName("sf").withNamespace("mail").call();
        final Validation v = validate("default.yaml", yaml);
        assertThat(v.exitCode()).as(v.output()).isZero();
        assertThat(v.output()).contains("ok apps/v1 StatefulSet sf-streamformer", "ok v1 ConfigMap sf-streamformer",
                "ok v1 Service sf-streamformer-metrics", "ok policy/v1 PodDisruptionBudget sf-streamformer")
                .doesNotContain("ServiceMonitor", "ScaledObject", "Deployment sf-streamformer-stats");
        assertThat(yaml).as("static membership from the pod name").contains("group.instance.id=$(POD_NAME)")
                .contains("fieldPath: metadata.name")
                .as("probes on the health endpoints").contains("path: /health/ready", "path: /health/live")
                .as("the state directory on a persistent volume").contains("volumeClaimTemplates:",
                        "mountPath: /var/lib/streamformer/state", "state.dir=/var/lib/streamformer/state")
                .contains("num.standby.replicas=0", "replicas: 2", "terminationGracePeriodSeconds: 60",
                        "streamformer.shutdown.timeout.ms=30000", "memory: 1Gi");
    }

    @Test
    void everyOptionOnRendersObjectsTheSchemasAcceptAndNoSecretInPlainText() throws Exception {
        final String yaml = new Helm(CHART).template().withKubeVersion(KUBE).withName("sf").withNamespace("mail")
                .withValuesFile(VALIDATOR.resolve("all-options.yaml")).call();
        final Validation v = validate("all-options.yaml", yaml);
        assertThat(v.exitCode()).as(v.output()).isZero();
        assertThat(v.output()).contains("ok monitoring.coreos.com/v1 ServiceMonitor sf-streamformer",
                "ok keda.sh/v1alpha1 ScaledObject sf-streamformer", "ok keda.sh/v1alpha1 TriggerAuthentication sf-streamformer-kafka",
                "ok apps/v1 Deployment sf-streamformer-stats", "ok apps/v1 StatefulSet sf-streamformer");
        assertThat(yaml).as("KEDA owns the replica count, at most one pod per partition")
                .contains("maxReplicaCount: 12", "lagThreshold: \"500\"", "consumerGroup: \"streamformer\"")
                .doesNotContain("replicas: 3")
                .contains("num.standby.replicas=1", "streamformer.topic.models=streamformer-models",
                        "streamformer.batch.size=16", "security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512")
                .as("credentials read from the mounted Secrets, never in the ConfigMap")
                .contains("password=\"${dir:/etc/streamformer/sasl:password}\"", "secretName: streamformer-kafka-user",
                        "ssl.truststore.password=${dir:/etc/streamformer/tls:truststore-password}")
                .contains("application.id=streamformer-stats");
    }

    @Test
    void aPlantedMistakeAPortWrittenAsAStringFailsValidation() throws Exception {
        final String yaml = new Helm(CHART).template().withKubeVersion(KUBE).withName("sf").call();
        assertThat(yaml).contains("containerPort: 8080");
        final Validation v = validate("planted.yaml", yaml.replace("containerPort: 8080", "containerPort: \"8080\""));
        assertThat(v.exitCode()).as(v.output()).isEqualTo(1);
        assertThat(v.output()).contains("INVALID apps/v1 StatefulSet sf-streamformer")
                .contains("containerPort must be integer");
    }

    private record Validation(int exitCode, String output) {
    }

    private static Validation validate(final String name, final String yaml) throws Exception {
        final Path file = OUT.resolve(name);
        Files.writeString(file, yaml);
        final List<String> command = new ArrayList<>(List.of("node", VALIDATOR.resolve("validate.mjs").toString(),
                file.toString()));
        final Process p = new ProcessBuilder(command).directory(VALIDATOR.toFile()).redirectErrorStream(true).start();
        final String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Validation(p.exitValue(), out);
    }
}
