/** Active SMTP health probe and the pure backend health state machine. */
package io.smtplb.health;
