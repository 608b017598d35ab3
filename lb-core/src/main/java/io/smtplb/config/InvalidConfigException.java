package io.smtplb.config;

import java.util.List;

/**
 * Thrown when a configuration cannot be used. It carries every problem found in the file, not only the
 * first, so that one run of {@code smtplb check} shows everything that needs fixing.
 */
public final class InvalidConfigException extends Exception {

    private final List<ConfigProblem> problems;

    /**
     * Creates an exception for the given problems.
     *
     * @param problems the problems, in the order they should be shown; at least one
     */
    public InvalidConfigException(List<ConfigProblem> problems) {
        super(describe(problems));
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("problems: empty (expected: at least one problem)");
        }
        this.problems = List.copyOf(problems);
    }

    /** Returns the problems, ordered by file and line. */
    public List<ConfigProblem> problems() {
        return problems;
    }

    private static String describe(List<ConfigProblem> problems) {
        StringBuilder text = new StringBuilder("invalid configuration: ")
                .append(problems.size())
                .append(problems.size() == 1 ? " problem" : " problems");
        for (ConfigProblem problem : problems) {
            text.append(System.lineSeparator()).append(problem);
        }
        return text.toString();
    }
}
