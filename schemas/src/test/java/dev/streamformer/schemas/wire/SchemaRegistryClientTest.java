package dev.streamformer.schemas.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import org.apache.avro.Schema;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import dev.streamformer.schemas.Prediction;

/**
 * The client's HTTP side against the JDK's own HTTP(S) server answering as a registry's
 * Confluent-compatible API does: basic auth from user info or from the URL, credentials kept out of
 * every message, TLS with a truststore, the statuses that are answers (404) and the ones that are
 * the registry's trouble (401, 5xx, no connection). SchemaRegistryIT covers a real registry.
 */
class SchemaRegistryClientTest {

    private static final String SECRET = "s3cret-pa55";

    @TempDir
    Path tmp;

    private HttpServer server;
    private final List<String> authorizations = new ArrayList<>();

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    private void answer(final HttpExchange x) throws IOException {
        final String auth = x.getRequestHeaders().getFirst("Authorization");
        authorizations.add(auth);
        final String expected = "Basic " + Base64.getEncoder().encodeToString(("alice:" + SECRET).getBytes(StandardCharsets.UTF_8));
        final String path = x.getRequestURI().getPath();
        final int status;
        final String body;
        if (!expected.equals(auth)) {
            status = 401;
            body = "{\"error_code\": 401, \"message\": \"Unauthorized\"}";
        } else if (path.endsWith("/schemas/ids/7")) {
            status = 200;
            final com.google.gson.JsonObject o = new com.google.gson.JsonObject();
            o.addProperty("schema", Prediction.getClassSchema().toString());
            body = o.toString();
        } else if (path.contains("/schemas/ids/")) {
            status = 404;
            body = "{\"error_code\": 40403, \"message\": \"Schema not found\"}";
        } else if (path.endsWith("/versions")) {
            status = 200;
            body = "{\"id\": 42}";
        } else {
            status = 500;
            body = "{\"error_code\": 50001, \"message\": \"boom\"}";
        }
        final byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(status, bytes.length);
        x.getResponseBody().write(bytes);
        x.close();
    }

    private String startHttp() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::answer);
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/apis/ccompat/v7";
    }

    private static SchemaRegistryClient client(final Map<String, Object> settings) {
        return SchemaRegistryClient.of(settings, "streamformer.");
    }

    @Test
    void sendsBasicAuthFromUserInfoAndCachesSchemasById() throws Exception {
        final String url = startHttp();
        final SchemaRegistryClient c = client(Map.of(SchemaRegistryClient.URL, url, SchemaRegistryClient.USER_INFO,
                "alice:" + SECRET));
        final Schema s = c.schema(7);
        assertThat(s.getFullName()).isEqualTo(Prediction.getClassSchema().getFullName());
        assertThat(c.schema(7)).isSameAs(s);
        assertThat(authorizations).as("the second read came from the cache").hasSize(1);
        assertThat(c.register("t-value", Prediction.getClassSchema())).isEqualTo(42);
        assertThat(c.id("t-value", Prediction.getClassSchema())).isEqualTo(42);
        assertThat(authorizations).hasSize(2);
    }

    @Test
    void takesCredentialsFromTheUrlAndNeverShowsThem() throws Exception {
        final String url = startHttp().replace("http://", "http://alice:" + SECRET + "@");
        final SchemaRegistryClient c = client(Map.of(SchemaRegistryClient.URL, url,
                SchemaRegistryClient.CREDENTIALS_SOURCE, "URL"));
        assertThat(c.schema(7)).isNotNull();
        assertThat(c.describe()).doesNotContain(SECRET).doesNotContain("alice");
        assertThatThrownBy(() -> c.schema(8)).isInstanceOf(SerializationException.class)
                .hasMessageContaining("schema id 8 is unknown").hasMessageContaining("error 40403: Schema not found")
                .hasMessageNotContaining(SECRET);
    }

    @Test
    void refusedCredentialsAreTheRegistrysTroubleAndNameTheSettingNotThePassword() throws Exception {
        final String url = startHttp();
        final SchemaRegistryClient c = client(Map.of(SchemaRegistryClient.URL, url, SchemaRegistryClient.USER_INFO,
                "alice:wrong-" + SECRET));
        assertThatThrownBy(() -> c.schema(7)).isInstanceOf(RegistryUnavailableException.class)
                .hasMessageContaining("HTTP 401").hasMessageContaining("streamformer.basic.auth.user.info")
                .hasMessageNotContaining(SECRET);
    }

    @Test
    void aServerErrorOrNoServerIsTheRegistrysTroubleNotTheRecords() throws Exception {
        final String url = startHttp();
        final SchemaRegistryClient c = client(Map.of(SchemaRegistryClient.URL, url, SchemaRegistryClient.USER_INFO,
                "alice:" + SECRET));
        assertThatThrownBy(() -> c.lookUp("t-value", Prediction.getClassSchema()))
                .isInstanceOf(RegistryUnavailableException.class).hasMessageContaining("HTTP 500");
        server.stop(0);
        server = null;
        assertThatThrownBy(() -> c.schema(9)).isInstanceOf(RegistryUnavailableException.class)
                .hasMessageContaining("Cannot connect").hasMessageContaining("streamformer.schema.registry.url");
    }

    @Test
    void speaksTlsWithTheConfiguredTruststore() throws Exception {
        final Path keystore = tmp.resolve("server.p12");
        final Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "registry", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=127.0.0.1",
                "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(),
                "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
        assertThat(keytool.waitFor()).as(new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                .isZero();
        final KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, "changeit".toCharArray());
        }
        final KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        final SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(kmf.getKeyManagers(), null, null);
        final HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(ssl));
        https.createContext("/", this::answer);
        https.start();
        server = https;
        final String url = "https://127.0.0.1:" + https.getAddress().getPort() + "/apis/ccompat/v7";

        final Map<String, Object> settings = new HashMap<>();
        settings.put(SchemaRegistryClient.URL, url);
        settings.put(SchemaRegistryClient.USER_INFO, "alice:" + SECRET);
        // Without the truststore the server's certificate is not trusted: the registry's trouble, retried.
        assertThatThrownBy(() -> client(settings).schema(7)).isInstanceOf(RegistryUnavailableException.class);
        settings.put(SchemaRegistryClient.SSL_PREFIX + "truststore.location", keystore.toString());
        settings.put(SchemaRegistryClient.SSL_PREFIX + "truststore.password", "changeit");
        assertThat(client(settings).schema(7).getFullName()).isEqualTo(Prediction.getClassSchema().getFullName());
        settings.put(SchemaRegistryClient.SSL_PREFIX + "truststore.password", "not-" + SECRET);
        assertThatThrownBy(() -> client(settings)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("truststore").hasMessageNotContaining(SECRET);
    }

    @Test
    void aBadUrlIsAConfigurationErrorThatHidesCredentials() {
        assertThatThrownBy(() -> client(Map.of(SchemaRegistryClient.URL, "ftp://alice:" + SECRET + "@host/x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("http://host:port")
                .hasMessageNotContaining(SECRET);
        assertThat(client(Map.of(SchemaRegistryClient.URL, " "))).isNull();
    }
}
