package io.smtplb.health;

import io.netty.handler.codec.smtp.SmtpResponse;

/** Renders relay output for log lines: replies as one line, with control characters and length made harmless. */
final class SmtpReplies {

    /** Maximum length of relay text kept in a detail; RFC 5321 limits a reply line to 512 octets. */
    static final int MAX_TEXT_LENGTH = 512;

    private SmtpReplies() {
    }

    /** Returns the reply as one line, such as {@code 421 4.3.2 busy}, with the lines of a multi-line reply joined. */
    static String text(SmtpResponse response) {
        StringBuilder text = new StringBuilder().append(response.code());
        for (CharSequence line : response.details()) {
            text.append(' ').append(line);
        }
        return sanitize(text);
    }

    /** Returns the reply quoted, such as {@code "421 4.3.2 busy"}. */
    static String quoted(SmtpResponse response) {
        return '"' + text(response) + '"';
    }

    /**
     * Replaces control and non-ASCII characters with {@code ?} and cuts the text at {@link #MAX_TEXT_LENGTH},
     * because relay output ends up in log lines.
     */
    static String sanitize(CharSequence text) {
        int length = Math.min(text.length(), MAX_TEXT_LENGTH);
        StringBuilder clean = new StringBuilder(length + 3);
        for (int i = 0; i < length; i++) {
            char c = text.charAt(i);
            clean.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        if (text.length() > MAX_TEXT_LENGTH) {
            clean.append("...");
        }
        return clean.toString();
    }
}
