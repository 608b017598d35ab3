package io.smtplb.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class SinkSessionHandlerTest {

    private final SinkCounters counters = new SinkCounters();
    private EmbeddedChannel channel;

    @BeforeEach
    void openSession() {
        channel = new EmbeddedChannel(new SinkSessionHandler(counters));
        assertThat(readOutput()).isEqualTo("220 smtp-sink ESMTP\r\n");
    }

    @AfterEach
    void closeSession() {
        channel.finishAndReleaseAll();
    }

    @Test
    void answersEveryPipelinedCommandInOrder() {
        send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");

        assertThat(readOutput()).isEqualTo("250-smtp-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                + "250 ENHANCEDSTATUSCODES\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n"
                + "354 End data with <CR><LF>.<CR><LF>\r\n");
    }

    @Test
    void countsMessageWhoseTerminatorIsSplitAcrossReads() {
        startData();

        send("Subject: split\r\n\r\nbody\r");
        send("\n.");
        assertThat(counters.messages.sum()).isZero();
        send("\r\n");

        assertThat(counters.messages.sum()).isEqualTo(1);
        assertThat(readOutput()).isEqualTo("250 2.0.0 Ok: queued\r\n");
    }

    @Test
    void dotStuffedLineDoesNotEndMessage() {
        startData();

        send("..\r\n.x\r\n");
        assertThat(counters.messages.sum()).isZero();
        send(".\r\n");

        assertThat(counters.messages.sum()).isEqualTo(1);
    }

    @Test
    void emptyMessageEndsAtFirstLine() {
        startData();

        send(".\r\nQUIT\r\n");

        assertThat(counters.messages.sum()).isEqualTo(1);
        assertThat(readOutput()).isEqualTo("250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n");
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void countsDataBytesIncludingTerminator() {
        startData();

        send("0123456789\r\n.\r\n");

        assertThat(counters.dataBytes.sum()).isEqualTo(15);
    }

    @Test
    void rejectsDataWithoutRecipient() {
        send("MAIL FROM:<a@example.org>\r\nDATA\r\n");

        assertThat(readOutput()).isEqualTo("250 2.0.0 Ok\r\n503 5.5.1 Error: need RCPT command\r\n");
        assertThat(counters.rejectedCommands.sum()).isEqualTo(1);
    }

    @Test
    void rejectsCommandLineLongerThanLimitAndCloses() {
        send("NOOP " + "x".repeat(SinkSessionHandler.MAX_COMMAND_LENGTH) + "\r\n");

        assertThat(readOutput()).isEqualTo("500 5.5.0 Error: line too long\r\n");
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void quitRepliesWith221AndCloses() {
        send("QUIT\r\n");

        assertThat(readOutput()).isEqualTo("221 2.0.0 Bye\r\n");
        assertThat(channel.isOpen()).isFalse();
        assertThat(counters.quits.sum()).isEqualTo(1);
    }

    private void startData() {
        send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
        readOutput();
    }

    private void send(String text) {
        channel.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
    }

    private String readOutput() {
        StringBuilder output = new StringBuilder();
        ByteBuf written;
        while ((written = channel.readOutbound()) != null) {
            output.append(written.toString(StandardCharsets.US_ASCII));
            written.release();
        }
        return output.toString();
    }
}
