package dev.streamformer.schemas.wire;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.apache.avro.Schema;
import org.apache.kafka.common.errors.SerializationException;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

/**
 * A client of a schema registry's Confluent-compatible REST API (Confluent Schema Registry;
 * Apicurio Registry at {@code /apis/ccompat/v7}): schemas by id, registration and look-up under a
 * subject. Schemas and ids are cached for the life of the client, since a registry never changes
 * what an id means. Settings use the names of Confluent's own serdes ({@link #URL},
 * {@link #CREDENTIALS_SOURCE}, {@link #USER_INFO}, the {@link #SSL_PREFIX} family), so a team's
 * existing values carry over. Credentials never appear in messages.
 *
 * <p>Instances are thread-safe.
 */
public final class SchemaRegistryClient {

    /** Comma-separated base URLs of the registry; tried in turn. */
    public static final String URL = "schema.registry.url";
    /** Where the basic-auth credentials come from: USER_INFO (default) or URL (user:password@host in the URL). */
    public static final String CREDENTIALS_SOURCE = "basic.auth.credentials.source";
    /** user:password for basic auth, with {@link #CREDENTIALS_SOURCE} USER_INFO. */
    public static final String USER_INFO = "basic.auth.user.info";
    /** Prefix of the TLS settings: truststore.location, .password, .type; keystore.location, .password, .type; key.password. */
    public static final String SSL_PREFIX = "schema.registry.ssl.";
    /** Whether serializers register their schema (true, the default) or only look it up. */
    public static final String AUTO_REGISTER = "auto.register.schemas";

    /** Every setting this client reads, for configuration tables and pass-through. */
    public static final List<String> SETTINGS = List.of(URL, CREDENTIALS_SOURCE, USER_INFO, AUTO_REGISTER,
            SSL_PREFIX + "truststore.location", SSL_PREFIX + "truststore.password", SSL_PREFIX + "truststore.type",
            SSL_PREFIX + "keystore.location", SSL_PREFIX + "keystore.password", SSL_PREFIX + "keystore.type",
            SSL_PREFIX + "key.password");

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

    private final List<URI> urls;
    private final String keyPrefix;
    private final String authorization;
    private final boolean autoRegister;
    private final HttpClient http;
    private final Map<Integer, Schema> byId = new ConcurrentHashMap<>();
    private final Map<String, Integer> idBySubjectAndSchema = new ConcurrentHashMap<>();

    private SchemaRegistryClient(final List<URI> urls, final String keyPrefix, final String authorization,
            final boolean autoRegister, final SSLContext ssl) {
        this.urls = urls;
        this.keyPrefix = keyPrefix;
        this.authorization = authorization;
        this.autoRegister = autoRegister;
        final HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(TIMEOUT);
        if (ssl != null) {
            builder.sslContext(ssl);
        }
        this.http = builder.build();
    }

    /**
     * @param settings Confluent's serde settings ({@link #SETTINGS}); other keys are ignored
     * @return a client, or null when {@link #URL} is missing or blank
     * @throws IllegalArgumentException when a setting is invalid (a bad URL, an unreadable keystore)
     */
    public static SchemaRegistryClient of(final Map<String, ?> settings) {
        return of(settings, "");
    }

    /**
     * @param settings Confluent's serde settings ({@link #SETTINGS}); other keys are ignored
     * @param keyPrefix the prefix the user's settings carry, for messages ({@code streamformer.} in the processor)
     * @return a client, or null when {@link #URL} is missing or blank
     * @throws IllegalArgumentException when a setting is invalid (a bad URL, an unreadable keystore)
     */
    public static SchemaRegistryClient of(final Map<String, ?> settings, final String keyPrefix) {
        final String list = string(settings, URL);
        if (list == null || list.isBlank()) {
            return null;
        }
        final List<URI> urls = new ArrayList<>();
        String urlUserInfo = null;
        for (final String u : list.split(",")) {
            if (u.isBlank()) {
                continue;
            }
            final URI uri;
            try {
                uri = URI.create(u.trim().replaceAll("/+$", ""));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(URL + " holds an invalid URL (" + e.getMessage().replaceAll("//[^@/]*@", "//")
                        + "): give http://host:port or https://host:port, with the API path (Apicurio: /apis/ccompat/v7)");
            }
            if (uri.getScheme() == null || !uri.getScheme().matches("https?") || uri.getHost() == null) {
                throw new IllegalArgumentException(URL + " must be http://host:port or https://host:port, not "
                        + withoutUserInfo(uri));
            }
            if (uri.getRawUserInfo() != null) {
                urlUserInfo = uri.getRawUserInfo();
            }
            urls.add(uri);
        }
        final String source = Objects.requireNonNullElse(string(settings, CREDENTIALS_SOURCE), "USER_INFO").trim();
        final String userInfo;
        switch (source.toUpperCase(java.util.Locale.ROOT)) {
            case "USER_INFO" -> userInfo = string(settings, USER_INFO);
            case "URL" -> userInfo = urlUserInfo == null ? null
                    : java.net.URLDecoder.decode(urlUserInfo, StandardCharsets.UTF_8);
            default -> throw new IllegalArgumentException(CREDENTIALS_SOURCE + " is " + source
                    + ": use USER_INFO (with " + USER_INFO + ") or URL (user:password@ in the URL)");
        }
        final String authorization = userInfo == null || userInfo.isBlank() ? null
                : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
        final String autoRegister = string(settings, AUTO_REGISTER);
        return new SchemaRegistryClient(urls, keyPrefix, authorization,
                autoRegister == null || autoRegister.isBlank() || Boolean.parseBoolean(autoRegister.trim()), ssl(settings));
    }

    /** @return the registry's URLs, without credentials, for messages */
    public String describe() {
        return String.join(",", urls.stream().map(SchemaRegistryClient::withoutUserInfo).toList());
    }

    /** @return whether serializers register their schemas (else they look them up) */
    public boolean autoRegister() {
        return autoRegister;
    }

    /**
     * @param id a schema id from a record's framing
     * @return the schema, from the cache or the registry
     * @throws SerializationException when the registry does not know the id
     * @throws RegistryUnavailableException when no registry URL answered
     */
    public Schema schema(final int id) {
        final Schema cached = byId.get(id);
        if (cached != null) {
            return cached;
        }
        final Response r = call("GET", "/schemas/ids/" + id, null);
        if (r.status() == 404) {
            throw new SerializationException("schema id " + id + " is unknown to the schema registry at " + describe()
                    + " (" + r.message() + "): produce with a schema registered there, or point " + keyPrefix + URL
                    + " at the registry the producer uses");
        }
        final Schema schema = parse(r, "schema id " + id);
        byId.put(id, schema);
        return schema;
    }

    /**
     * The id of a schema under a subject: registered when {@link #autoRegister()}, else looked up.
     *
     * @param subject the subject, for example {@code streamformer-predictions-value}
     * @param schema the schema
     * @return its id
     * @throws SerializationException when the registry refuses the schema (incompatible) or, without
     *     auto-registration, does not have it under the subject
     * @throws RegistryUnavailableException when no registry URL answered
     */
    public int id(final String subject, final Schema schema) {
        return autoRegister ? register(subject, schema) : lookUp(subject, schema);
    }

    /**
     * @param subject the subject
     * @param schema the schema
     * @return the id of the schema, registered now or before
     */
    public int register(final String subject, final Schema schema) {
        return cachedId("register", subject, schema, () -> {
            final Response r = call("POST", "/subjects/" + encode(subject) + "/versions", body(schema));
            if (r.status() == 409 || r.status() == 422) {
                throw new SerializationException("The schema registry at " + describe() + " refused " + schema.getFullName()
                        + " under subject " + subject + " (HTTP " + r.status() + ": " + r.message() + "): the subject's"
                        + " compatibility rule rejects it; register a compatible version or change the rule");
            }
            return idOf(r, subject);
        });
    }

    /**
     * @param subject the subject
     * @param schema the schema
     * @return the id the schema has under the subject
     */
    public int lookUp(final String subject, final Schema schema) {
        return cachedId("look up", subject, schema, () -> {
            final Response r = call("POST", "/subjects/" + encode(subject), body(schema));
            if (r.status() == 404) {
                throw new SerializationException(schema.getFullName() + " is not registered under subject " + subject
                        + " at the schema registry at " + describe() + " (" + r.message() + ") and "
                        + "auto-registration is off: register it (`streamformer schemas --register`) or turn on "
                        + keyPrefix + AUTO_REGISTER);
            }
            return idOf(r, subject);
        });
    }

    private int cachedId(final String what, final String subject, final Schema schema,
            final java.util.function.IntSupplier fetch) {
        final String key = what + '\n' + subject + '\n' + org.apache.avro.SchemaNormalization.parsingFingerprint64(schema);
        final Integer cached = idBySubjectAndSchema.get(key);
        if (cached != null) {
            return cached;
        }
        final int id = fetch.getAsInt();
        idBySubjectAndSchema.put(key, id);
        byId.putIfAbsent(id, schema);
        return id;
    }

    private static String body(final Schema schema) {
        final JsonObject o = new JsonObject();
        o.addProperty("schema", schema.toString());
        o.addProperty("schemaType", "AVRO");
        return o.toString();
    }

    private int idOf(final Response r, final String subject) {
        try {
            return JsonParser.parseString(r.body()).getAsJsonObject().get("id").getAsInt();
        } catch (RuntimeException e) {
            throw new RegistryUnavailableException("The schema registry at " + describe() + " answered for subject "
                    + subject + " with no schema id (" + abbreviate(r.body()) + ")", e);
        }
    }

    private Schema parse(final Response r, final String what) {
        final String text;
        try {
            final JsonObject o = JsonParser.parseString(r.body()).getAsJsonObject();
            if (o.has("schemaType") && !o.get("schemaType").isJsonNull() && !"AVRO".equals(o.get("schemaType").getAsString())) {
                throw new SerializationException(what + " at the schema registry at " + describe() + " is a "
                        + o.get("schemaType").getAsString() + " schema, not Avro: produce requests with an Avro serializer");
            }
            text = o.get("schema").getAsString();
        } catch (JsonParseException | IllegalStateException | NullPointerException | UnsupportedOperationException e) {
            throw new RegistryUnavailableException("The schema registry at " + describe() + " answered for " + what
                    + " with no schema (" + abbreviate(r.body()) + ")", e);
        }
        try {
            return new Schema.Parser().parse(text);
        } catch (RuntimeException e) {
            throw new SerializationException(what + " at the schema registry at " + describe()
                    + " is not a valid Avro schema: " + e.getMessage(), e);
        }
    }

    private record Response(int status, String body) {
        String message() {
            try {
                final JsonObject o = JsonParser.parseString(body).getAsJsonObject();
                return (o.has("error_code") ? "error " + o.get("error_code").getAsString() + ": " : "")
                        + (o.has("message") ? o.get("message").getAsString() : abbreviate(body));
            } catch (RuntimeException e) {
                return "HTTP " + status + " " + abbreviate(body);
            }
        }
    }

    /** Calls each URL in turn; 404, 409 and 422 are answers, other failures try the next URL. */
    private Response call(final String method, final String path, final String body) {
        RuntimeException last = null;
        for (final URI base : urls) {
            final HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(withoutUserInfo(base) + path))
                    .timeout(TIMEOUT).header("Accept", CONTENT_TYPE + ", application/json");
            if (authorization != null) {
                request.header("Authorization", authorization);
            }
            request.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
            if (body != null) {
                request.header("Content-Type", CONTENT_TYPE);
            }
            try {
                final HttpResponse<String> response = http.send(request.build(),
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                final Response r = new Response(response.statusCode(), response.body());
                if (r.status() / 100 == 2 || r.status() == 404 || r.status() == 409 || r.status() == 422) {
                    return r;
                }
                last = new RegistryUnavailableException("The schema registry at " + withoutUserInfo(base) + " answered "
                        + method + " " + path + " with HTTP " + r.status() + " (" + r.message() + ")"
                        + (r.status() == 401 || r.status() == 403 ? ": check " + keyPrefix + USER_INFO + " and " + keyPrefix
                                + CREDENTIALS_SOURCE : ""),
                        null);
            } catch (HttpTimeoutException e) {
                last = new RegistryUnavailableException("The schema registry at " + withoutUserInfo(base)
                        + " did not answer " + method + " " + path + " within " + TIMEOUT.toSeconds() + " s", e);
            } catch (ConnectException e) {
                last = new RegistryUnavailableException("Cannot connect to the schema registry at " + withoutUserInfo(base)
                        + " (" + e + "): is it running, and is " + keyPrefix + URL + " right", e);
            } catch (IOException e) {
                last = new RegistryUnavailableException("The schema registry at " + withoutUserInfo(base) + " failed "
                        + method + " " + path + ": " + e, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RegistryUnavailableException("Interrupted while asking the schema registry at "
                        + withoutUserInfo(base), e);
            }
        }
        throw last;
    }

    private static String encode(final String subject) {
        return java.net.URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String withoutUserInfo(final URI uri) {
        return uri.getRawUserInfo() == null ? uri.toString() : uri.toString().replace(uri.getRawUserInfo() + "@", "");
    }

    private static String abbreviate(final String s) {
        final String one = s == null ? "" : s.replaceAll("\\s+", " ");
        return one.length() <= 200 ? one : one.substring(0, 200) + "...";
    }

    private static String string(final Map<String, ?> settings, final String key) {
        final Object v = settings.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof org.apache.kafka.common.config.types.Password p) {
            return p.value();
        }
        return v.toString();
    }

    private static SSLContext ssl(final Map<String, ?> settings) {
        final String trustStore = string(settings, SSL_PREFIX + "truststore.location");
        final String keyStore = string(settings, SSL_PREFIX + "keystore.location");
        if (isBlank(trustStore) && isBlank(keyStore)) {
            return null;
        }
        try {
            final SSLContext context = SSLContext.getInstance("TLS");
            TrustManagerFactory tmf = null;
            if (!isBlank(trustStore)) {
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(load(trustStore, string(settings, SSL_PREFIX + "truststore.password"),
                        string(settings, SSL_PREFIX + "truststore.type"), "truststore"));
            }
            KeyManagerFactory kmf = null;
            if (!isBlank(keyStore)) {
                final String storePassword = string(settings, SSL_PREFIX + "keystore.password");
                final String keyPassword = string(settings, SSL_PREFIX + "key.password");
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(load(keyStore, storePassword, string(settings, SSL_PREFIX + "keystore.type"), "keystore"),
                        chars(isBlank(keyPassword) ? storePassword : keyPassword));
            }
            context.init(kmf == null ? null : kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("Cannot set up TLS to the schema registry from the " + SSL_PREFIX
                    + "* settings: " + e.getClass().getSimpleName(), e);
        }
    }

    private static KeyStore load(final String location, final String password, final String type, final String what)
            throws GeneralSecurityException {
        try (InputStream in = Files.newInputStream(Path.of(location))) {
            final KeyStore store = KeyStore.getInstance(isBlank(type) ? "PKCS12" : type.trim());
            store.load(in, chars(password));
            return store;
        } catch (IOException e) {
            // The message of a wrong password names no secret; say which file and setting.
            throw new IllegalArgumentException("Cannot read the schema registry " + what + " " + location + " ("
                    + e.getClass().getSimpleName() + "): check " + SSL_PREFIX + what + ".location, .password and .type", e);
        }
    }

    private static char[] chars(final String s) {
        return s == null ? null : s.toCharArray();
    }

    private static boolean isBlank(final String s) {
        return s == null || s.isBlank();
    }
}
