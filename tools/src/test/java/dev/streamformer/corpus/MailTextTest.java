package dev.streamformer.corpus;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;

import org.junit.jupiter.api.Test;

/** Real messages of the SpamAssassin corpus (src/test/resources/mail). */
class MailTextTest {

    private static String text(final String fixture) throws Exception {
        try (InputStream in = MailTextTest.class.getResourceAsStream("/mail/" + fixture + ".eml")) {
            return MailText.extract(in.readAllBytes());
        }
    }

    @Test
    void decodesABase64TextPartOfAMultipartMessage() throws Exception {
        final String text = text("base64-multipart");
        assertThat(text).startsWith("The instant drugstore 6537DW-6");
        assertThat(text).contains("From the privacy of your home All your perscription needs easily");
        assertThat(text).doesNotContain("KCVyYW5kJSkNCg0K");
    }

    @Test
    void reducesQuotedPrintableHtmlToItsVisibleText() throws Exception {
        final String text = text("quoted-printable-html");
        assertThat(text).isEqualTo("Herbal Viagra 30 day trial... ViaPro exit list instructions ajrule");
    }

    @Test
    void prefersThePlainPartOfAnAlternative() throws Exception {
        final String text = text("alternative");
        assertThat(text).contains("My name is Danny Creech");
        assertThat(text.indexOf("My name is Danny Creech")).isEqualTo(text.lastIndexOf("My name is Danny Creech"));
        assertThat(text).doesNotContain("Content-Type");
    }

    @Test
    void dropsBinaryAttachmentsAndDecodesQuotedPrintable() throws Exception {
        final String text = text("attachment");
        assertThat(text).startsWith("[SA] URGENT HELP");
        assertThat(text).contains("URGENT AND CONFIDENTIAL");
        assertThat(text).doesNotContain("aaaaaaa.txt").doesNotContain("=20").doesNotContain("=3D");
    }

    @Test
    void keepsOnlyTheSubjectOfTheHeadersAndDecodesTheCharset() throws Exception {
        final String text = text("plain-ham");
        assertThat(text).startsWith("Re: [ILUG-Social] Completely OT, Siamese Cats???");
        assertThat(text).contains("Pokémon");
        assertThat(text).doesNotContain("Received:").doesNotContain("Return-Path").doesNotContain("Message-Id");
    }

    @Test
    void readsAnHtmlBodyThatDeclaresNoTypeAsHtml() throws Exception {
        final String text = text("undeclared-html");
        assertThat(text).isEqualTo("You Won The First Round! claim# 9462 27747 You Have Won The First Round!"
                + " Claim Your Entry Now! Collect The Prize Of The Week! Click Here To Collect! We apologize for"
                + " any email you may have inadvertently received. Please CLICK HERE to be removed from future"
                + " mailings.");
    }

    @Test
    void parsesAMultipartBodyWhoseHeadersDeclareNoType() throws Exception {
        final String text = text("undeclared-multipart");
        assertThat(text).startsWith("See the VIDEO Britney Wants BANNED! See the VIDEO Britney Wants BANNED!"
                + " STOLEN HOME VIDEO OF BRITNEY SPEARS");
        assertThat(text).doesNotContain("NextPart").doesNotContain("Content-Type").doesNotContain("<");
    }

    @Test
    void keepsTheTextBeforeTheFirstBoundaryOfAnUndeclaredMultipart() throws Exception {
        final String text = text("quoted-mime");
        assertThat(text).startsWith("[Spambayes] Re: [Python-Dev] Getting started with GBayes testing >>> Tim Peters");
        assertThat(text).contains("on my todo is to feed the prologue into the system as well");
    }

    @Test
    void keepsPlainTextThatMentionsATagOrAnAddressInBrackets() {
        assertThat(MailText.looksLikeHtml("Put a <br> after the line, and mail <jm@example.org>.")).isFalse();
        assertThat(MailText.looksLikeHtml("<p>One</p><p>Two</p><br>")).isTrue();
        assertThat(MailText.looksLikeHtml("<A HREF=\"x\">a</A> <FONT size=2>b <Br/>")).isTrue();
        assertThat(MailText.looksLikeHtml("<pre> <address> <tr-x>")).isFalse();
    }
}
