package dev.streamformer.corpus;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Reader;
import java.util.Locale;

import org.apache.james.mime4j.dom.Body;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.apache.james.mime4j.stream.MimeConfig;
import org.jsoup.Jsoup;

/**
 * Reduces a raw RFC 822 message to the text a classifier reads: the decoded Subject, then the
 * body text. MIME multipart messages are walked; quoted-printable and base64 parts are decoded in
 * their charset; HTML is reduced to its visible text; in multipart/alternative the plain part is
 * preferred over the HTML one; non-text parts (images, attachments) are dropped.
 *
 * <p>Header policy: only Subject is kept. Routing and address headers (Received, From, To,
 * Return-Path, X-*) are dropped because in this corpus they mostly identify the collecting
 * mailboxes and lists, which would let a model learn the collection instead of the content.
 */
public final class MailText {

    private static final int MAX_PART_CHARS = 200_000;

    private MailText() {
    }

    /**
     * @param raw the message bytes
     * @return subject and body text, whitespace collapsed
     */
    public static String extract(final byte[] raw) {
        final DefaultMessageBuilder builder = new DefaultMessageBuilder();
        builder.setMimeEntityConfig(MimeConfig.PERMISSIVE);
        builder.setDecodeMonitor(org.apache.james.mime4j.codec.DecodeMonitor.SILENT);
        try {
            final Message message = builder.parseMessage(new ByteArrayInputStream(raw));
            final StringBuilder text = new StringBuilder();
            if (message.getSubject() != null) {
                text.append(message.getSubject()).append('\n');
            }
            appendBody(message, text);
            message.dispose();
            return normalize(text.toString());
        } catch (IOException | RuntimeException e) {
            // A message mime4j cannot parse is still text: keep it whole rather than lose it.
            return normalize(new String(raw, java.nio.charset.StandardCharsets.ISO_8859_1));
        }
    }

    private static void appendBody(final Entity entity, final StringBuilder out) throws IOException {
        final Body body = entity.getBody();
        final String mime = entity.getMimeType() == null ? "text/plain" : entity.getMimeType().toLowerCase(Locale.ROOT);
        if (body instanceof Multipart multipart) {
            if (mime.equals("multipart/alternative")) {
                Entity chosen = null;
                for (final Entity part : multipart.getBodyParts()) {
                    if (chosen == null || "text/plain".equalsIgnoreCase(part.getMimeType())) {
                        chosen = part;
                    }
                }
                if (chosen != null) {
                    appendBody(chosen, out);
                }
                return;
            }
            for (final Entity part : multipart.getBodyParts()) {
                appendBody(part, out);
            }
        } else if (body instanceof Message nested) {
            appendBody(nested, out);
        } else if (body instanceof TextBody textBody && mime.startsWith("text/")) {
            final String text = read(textBody);
            out.append(mime.equals("text/html") ? Jsoup.parse(text).text() : text).append('\n');
        }
    }

    private static String read(final TextBody body) throws IOException {
        final StringBuilder b = new StringBuilder();
        try (Reader reader = body.getReader()) {
            final char[] buffer = new char[8192];
            int n;
            while ((n = reader.read(buffer)) > 0 && b.length() < MAX_PART_CHARS) {
                b.append(buffer, 0, n);
            }
        }
        return b.toString();
    }

    /**
     * Collapses runs of whitespace to one space and trims.
     *
     * @param text the text
     * @return the normalised text
     */
    static String normalize(final String text) {
        return text.replaceAll("\\s+", " ").strip();
    }
}
