/** JMH microbenchmarks and the end-to-end SMTP load tool. */
package io.smtplb.bench;
