package io.smtplb.bench;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class MessageContentTest {

    /** Sizes past the minimum: none, one byte (which no line of its own can hold), a full line plus one. */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 81, 2000, 1 << 20})
    void contentHasRequestedSizeAndEndsWithTerminator(int bytesOverMinimum) {
        int size = MessageContent.MIN_SIZE + bytesOverMinimum;
        ByteBuf message = MessageContent.withTerminator(size);
        String text = message.toString(StandardCharsets.US_ASCII);

        assertThat(text).hasSize(size + 3);
        assertThat(text).endsWith("\r\n.\r\n");
        String content = text.substring(0, size);
        assertThat(content.split("\r\n", -1)).allSatisfy(line -> {
            assertThat(line).doesNotStartWith(".");
            assertThat(line).doesNotContain("\r", "\n");
            assertThat(line.length()).isLessThanOrEqualTo(998);
        });
    }
}
