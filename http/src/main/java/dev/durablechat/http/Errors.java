package dev.durablechat.http;

import dev.durablechat.api.DurableChatException;
import dev.durablechat.api.FencedException;
import dev.durablechat.api.InvalidInputException;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonValue;
import dev.durablechat.api.NoSuchRunException;
import dev.durablechat.api.NoSuchSessionException;
import dev.durablechat.api.PayloadTooLargeException;
import dev.durablechat.api.RunConflictException;
import dev.durablechat.api.SessionClosedException;
import dev.durablechat.api.StoreUnavailableException;
import dev.durablechat.api.UnsupportedCapabilityException;
import org.jspecify.annotations.Nullable;

/**
 * The one table from engine exceptions to HTTP answers. Bad input is always a 4xx (invariant 7: it
 * changed nothing); only a failure of the service itself is a 5xx. The clients treat 400, 404, 409,
 * 410 and 422 as terminal and retry 5xx and 429 (http.md §1), so a store outage must be a 503,
 * never a 4xx, and bad input never a 5xx.
 */
final class Errors {
  private Errors() {}

  /**
   * The answer for an exception the engine threw.
   *
   * @param closedReason the session's close reason, for a {@link SessionClosedException}
   */
  static HttpError map(DurableChatException e, @Nullable String closedReason) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (e instanceof PayloadTooLargeException) {
      return HttpError.of(413, "payload_too_large", message);
    }
    if (e instanceof InvalidPayloadException) {
      // The routes parse JSON syntax themselves (400); what reaches here is a shape error (W3).
      return HttpError.of(422, "invalid_payload", message);
    }
    if (e instanceof InvalidInputException) {
      return HttpError.of(422, "invalid_input", message);
    }
    if (e instanceof NoSuchSessionException) {
      return HttpError.of(404, "session_not_found", message);
    }
    if (e instanceof SessionClosedException) {
      JsonValue reason = closedReason == null ? JsonNull.INSTANCE : JsonValue.of(closedReason);
      return HttpError.of(409, "session_closed", message)
          .with("closedReason", reason)
          .header("x-should-retry", "false");
    }
    if (e instanceof FencedException) {
      return HttpError.of(409, "fenced", message);
    }
    if (e instanceof RunConflictException) {
      // A lost compare-and-set race that kept losing: worth a retry.
      return HttpError.of(503, "run_conflict", message);
    }
    if (e instanceof NoSuchRunException) {
      return HttpError.of(404, "run_not_found", message);
    }
    if (e instanceof StoreUnavailableException) {
      return HttpError.of(503, "store_unavailable", message);
    }
    if (e instanceof UnsupportedCapabilityException) {
      return HttpError.of(501, "unsupported", message);
    }
    return HttpError.of(500, "internal", "internal error");
  }
}
