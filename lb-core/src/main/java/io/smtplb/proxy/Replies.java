package io.smtplb.proxy;

import io.netty.handler.codec.smtp.SmtpResponse;

/** Renders decoded SMTP replies for log lines and health reasons. */
final class Replies {

    private Replies() {
    }

    /** Returns the reply as one line, such as {@code 421 4.3.2 mx1 busy}, with multi-line texts joined. */
    static String text(SmtpResponse response) {
        StringBuilder text = new StringBuilder().append(response.code());
        for (CharSequence line : response.details()) {
            text.append(' ').append(line);
        }
        return text.toString();
    }
}
