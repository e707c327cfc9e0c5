package dev.streamformer.corpus;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
 * <p>Malformed MIME, common in spam, is read as its sender meant it: a body that is HTML
 * but declares no type (so defaults to text/plain) is reduced like text/html, and a message whose
 * body is multipart but whose headers declare no Content-Type (the parts' boundary and headers
 * appear in the body) is parsed as multipart/mixed with the boundary its body uses, its preamble
 * (the text before the first boundary) kept. Left raw, both would hand the classifier tag soup and
 * MIME headers where well-formed messages give it text.
 *
 * <p>Header policy: only Subject is kept. Routing and address headers (Received, From, To,
 * Return-Path, X-*) are dropped because in this corpus they mostly identify the collecting
 * mailboxes and lists, which would let a model learn the collection instead of the content.
 */
public final class MailText {

    private static final int MAX_PART_CHARS = 200_000;

    /** Opening tags that mark a body as HTML whatever its declared type. */
    private static final Pattern HTML_TAG = Pattern.compile(
            "<(html|body|head|title|meta|font|table|tr|td|div|p|br|center|img|a)[\\s>/]",
            Pattern.CASE_INSENSITIVE);

    /** Tags it takes before a text/plain body is read as HTML: one tag can be prose about HTML. */
    private static final int HTML_TAGS_TO_DETECT = 3;

    /** The blank line between a message's headers and its body. */
    private static final Pattern HEADER_END = Pattern.compile("\\R\\R");

    /** A MIME boundary line directly followed (blank lines aside) by a part's Content-Type. */
    private static final Pattern UNDECLARED_BOUNDARY = Pattern.compile(
            "^--(\\S{6,})\\s*\\R(?:\\s*\\R)?content-type:", Pattern.CASE_INSENSITIVE | Pattern.MULTILINE);

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
            final Message undeclared = message.getHeader().getField("Content-Type") == null
                    ? undeclaredMultipart(builder, raw) : null;
            if (undeclared != null && undeclared.getBody() instanceof Multipart multipart
                    && multipart.getPreamble() != null) {
                text.append(multipart.getPreamble()).append('\n');
            }
            appendBody(undeclared == null ? message : undeclared, text);
            message.dispose();
            if (undeclared != null) {
                undeclared.dispose();
            }
            return normalize(text.toString());
        } catch (IOException | RuntimeException e) {
            // A message mime4j cannot parse is still text: keep it whole rather than lose it.
            return normalize(new String(raw, java.nio.charset.StandardCharsets.ISO_8859_1));
        }
    }

    /**
     * @return the body parsed as multipart/mixed with the boundary it uses, or null when the body
     *     shows no boundary followed by a part's Content-Type
     */
    private static Message undeclaredMultipart(final DefaultMessageBuilder builder, final byte[] raw)
            throws IOException {
        final String message = new String(raw, StandardCharsets.ISO_8859_1);
        final Matcher end = HEADER_END.matcher(message);
        if (!end.find()) {
            return null;
        }
        final String body = message.substring(end.end());
        final Matcher boundary = UNDECLARED_BOUNDARY.matcher(body);
        if (!boundary.find()) {
            return null;
        }
        final String header = "Content-Type: multipart/mixed; boundary=\"" + boundary.group(1) + "\"\r\n\r\n";
        return builder.parseMessage(new ByteArrayInputStream((header + body).getBytes(StandardCharsets.ISO_8859_1)));
    }

    /**
     * @param text a body's text
     * @return whether it carries enough HTML tags to be HTML, whatever its declared type
     */
    static boolean looksLikeHtml(final String text) {
        final Matcher tag = HTML_TAG.matcher(text);
        int tags = 0;
        while (tags < HTML_TAGS_TO_DETECT && tag.find()) {
            tags++;
        }
        return tags == HTML_TAGS_TO_DETECT;
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
            final boolean html = mime.equals("text/html") || looksLikeHtml(text);
            out.append(html ? Jsoup.parse(text).text() : text).append('\n');
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
