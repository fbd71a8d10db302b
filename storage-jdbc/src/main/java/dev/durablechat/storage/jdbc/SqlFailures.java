package dev.durablechat.storage.jdbc;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.StoreUnavailableException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;

/** Sorts SQL failures into what the SPI promises: conflicts, refusals, or "unavailable". */
final class SqlFailures {
  private SqlFailures() {}

  /** Unique violation: both databases use the standard state. */
  static boolean isUniqueViolation(SQLException e) {
    return "23505".equals(e.getSQLState());
  }

  /**
   * Failures of a statement that leave the transaction rolled back and nothing written, so that the
   * whole transaction may run again: serialization failure, deadlock, lock timeout.
   */
  static boolean isRetryable(SQLException e) {
    String state = e.getSQLState();
    return "40001".equals(state) // serialization failure (H2: deadlock too)
        || "40P01".equals(state) // PostgreSQL deadlock
        || "55P03".equals(state) // PostgreSQL lock_not_available
        || "HYT00".equals(state); // H2 lock timeout
  }

  /**
   * Whether the connection itself is gone (not a timeout): connection exceptions and the server
   * terminating the session (admin or crash shutdown, pg_terminate_backend).
   */
  static boolean isBrokenConnection(SQLException e) {
    String state = e.getSQLState();
    return state != null
        && (state.startsWith("08")
            || "57P01".equals(state)
            || "57P02".equals(state)
            || "57P03".equals(state));
  }

  /** Whether the failure is about the connection or the server rather than the statement. */
  static boolean isConnectionFailure(SQLException e) {
    String state = e.getSQLState();
    return e instanceof SQLTransientConnectionException
        || e instanceof SQLRecoverableException
        || e instanceof SQLTimeoutException
        || (state != null
            && (state.startsWith("08") // connection exception
                || state.startsWith("57") // operator intervention: admin shutdown, cancel
                || state.startsWith("53") // insufficient resources
                || "HYT00".equals(state)));
  }

  /**
   * The exception for a failed call. Refusals of the input are {@link InvalidInputException};
   * everything else is {@link StoreUnavailableException}, which promises nothing about the data
   * (the SPI: "if unsure whether it was stored, fail").
   */
  static DurableChatException translate(String what, SQLException e) {
    String state = e.getSQLState();
    if ("22001".equals(state)) {
      return new InvalidInputException(what + ": a value is too long for its column", e);
    }
    String kind = isConnectionFailure(e) ? "database unreachable or timed out" : "database error";
    return new StoreUnavailableException(
        what + " failed: " + kind + " (sqlstate [" + state + "]): " + e.getMessage(), e);
  }
}
