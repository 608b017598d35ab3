package io.smtplb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The state machine driven by input sequences. Inputs: {@code P} passed check, {@code F} failed check,
 * {@code X} passive failure, {@code S} passive success, {@code D} down-interval elapsed. Each step renders as
 * {@code state progress}, with {@code !} when the state changed.
 */
class HealthStateMachineTest {

    @ParameterizedTest(name = "{0}: {1} rise {2} fall {3}, inputs {4}")
    @CsvSource(delimiter = '|', textBlock = """
        rise after consecutive passes      | DOWN | 2 | 3 | P P         | DOWN rise 1/2; UP rise 2/2 !
        failure restarts the rise          | DOWN | 2 | 3 | P F P P     | DOWN rise 1/2; DOWN rise 0/2; DOWN rise 1/2; UP rise 2/2 !
        fall after consecutive failures    | UP   | 2 | 3 | F F F       | UP fall 1/3; UP fall 2/3; DOWN fall 3/3 !
        pass restarts the fall             | UP   | 2 | 3 | F F P F F   | UP fall 1/3; UP fall 2/3; UP fall 0/3; UP fall 1/3; UP fall 2/3
        passive failures count toward fall | UP   | 2 | 3 | F X X       | UP fall 1/3; UP fall 2/3; DOWN fall 3/3 !
        passive failures alone go down     | UP   | 2 | 3 | X X X       | UP fall 1/3; UP fall 2/3; DOWN fall 3/3 !
        passive success clears passive     | UP   | 2 | 3 | F X S F     | UP fall 1/3; UP fall 2/3; UP fall 1/3; UP fall 2/3
        passive success keeps failed checks| UP   | 2 | 3 | F F S F     | UP fall 1/3; UP fall 2/3; UP fall 2/3; DOWN fall 3/3 !
        pass clears passive failures       | UP   | 2 | 3 | X X P X     | UP fall 1/3; UP fall 2/3; UP fall 0/3; UP fall 1/3
        thresholds of one flip each time   | DOWN | 1 | 1 | P F P       | UP rise 1/1 !; DOWN fall 1/1 !; UP rise 1/1 !
        passive failure restarts the rise  | DOWN | 2 | 3 | P X P       | DOWN rise 1/2; DOWN rise 0/2; DOWN rise 1/2
        passive success while down is idle | DOWN | 2 | 3 | P S P       | DOWN rise 1/2; DOWN rise 1/2; UP rise 2/2 !
        down interval brings it back up    | UP   | 2 | 3 | X X X D     | UP fall 1/3; UP fall 2/3; DOWN fall 3/3 !; UP down-interval elapsed !
        down interval while up is idle     | UP   | 2 | 3 | D           | UP fall 0/3
        pass while steadily up is idle     | UP   | 2 | 3 | P           | UP fall 0/3
        failure while steadily down        | DOWN | 2 | 3 | F X         | DOWN rise 0/2; DOWN rise 0/2
        counts restart after going down    | UP   | 3 | 2 | F F P P F   | UP fall 1/2; DOWN fall 2/2 !; DOWN rise 1/3; DOWN rise 2/3; DOWN rise 0/3
        """)
    void followsInputSequence(String rule, HealthState initial, int rise, int fall, String inputs, String expected) {
        HealthStateMachine machine = new HealthStateMachine(rise, fall, initial);
        List<String> steps = new ArrayList<>();
        for (String input : inputs.trim().split(" +")) {
            HealthStateMachine.Update update = apply(machine, input);
            steps.add(update.state() + " " + update.progress() + (update.changed() ? " !" : ""));
        }

        assertThat(String.join("; ", steps)).as(rule).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}: {1}, inputs {2}")
    @CsvSource(delimiter = '|', textBlock = """
        falling after one failure        | UP   | F     | true
        passive failure starts a fall    | UP   | X     | true
        the change itself is not falling | UP   | F F F | false
        steady up                        | UP   | P     | false
        rising after one pass            | DOWN | P     | true
        steady down                      | DOWN | F     | false
        just came up                     | DOWN | P P   | false
        """)
    void reportsTransitioningWhileRisingOrFalling(String rule, HealthState initial, String inputs,
                                                  boolean transitioning) {
        HealthStateMachine machine = new HealthStateMachine(2, 3, initial);
        HealthStateMachine.Update last = machine.current();
        for (String input : inputs.trim().split(" +")) {
            last = apply(machine, input);
        }

        assertThat(last.transitioning()).as(rule).isEqualTo(transitioning);
    }

    @Test
    void resetKeepsStateAndClearsProgress() {
        HealthStateMachine machine = new HealthStateMachine(2, 3, HealthState.UP);
        machine.onFailure();
        machine.onPassiveFailure();

        machine.reset(1, 5);

        assertThat(machine.state()).isEqualTo(HealthState.UP);
        assertThat(machine.current().progress()).isEqualTo("fall 0/5");
        assertThat(machine.onFailure().progress()).isEqualTo("fall 1/5");
    }

    @Test
    void rejectsThresholdsBelowOne() {
        assertThatThrownBy(() -> new HealthStateMachine(0, 3, HealthState.UP))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rise: 0, fall: 3 (expected: >= 1)");
    }

    private static HealthStateMachine.Update apply(HealthStateMachine machine, String input) {
        return switch (input) {
            case "P" -> machine.onPass();
            case "F" -> machine.onFailure();
            case "X" -> machine.onPassiveFailure();
            case "S" -> machine.onPassiveSuccess();
            case "D" -> machine.onDownIntervalElapsed();
            default -> throw new IllegalArgumentException("input: " + input + " (expected: P, F, X, S or D)");
        };
    }
}
