package dev.durablechat.agent;

import dev.durablechat.api.DurableChatException;
import java.util.Objects;

/**
 * State that lives as long as one run (the counterpart of {@code chat.local}): a database handle, a
 * user profile, a cache. Each run starts with it uninitialised; initialise it in {@code onBoot},
 * which fires on every boot, initial and continuation alike (PROTOCOL L1, L8). Reading or writing
 * it before that fails with a clear error instead of returning a stale or missing value.
 *
 * <p>It is bound to the run's thread: hooks and {@code run} see it, threads they start do not.
 *
 * @param <T> the value type
 */
public final class ChatLocal<T> {
  private final String id;

  private ChatLocal(String id) {
    this.id = id;
  }

  /** A local named by the id (the name appears in error messages). */
  public static <T> ChatLocal<T> of(String id) {
    if (id == null || id.isBlank()) {
      throw new IllegalArgumentException("chat local id [" + id + "] must not be blank");
    }
    return new ChatLocal<>(id);
  }

  /** The id. */
  public String id() {
    return id;
  }

  /**
   * Initialises the value for the current run (call it in {@code onBoot}).
   *
   * @throws DurableChatException if called outside a chat run
   */
  public void init(T value) {
    scope("init").values.put(this, Objects.requireNonNull(value, "chat local value"));
  }

  /**
   * The current run's value.
   *
   * @throws DurableChatException if the run has not initialised it, or outside a chat run (L8)
   */
  @SuppressWarnings("unchecked")
  public T get() {
    RunScope scope = scope("get");
    Object value = scope.values.get(this);
    if (value == null) {
      throw uninitialised(scope);
    }
    return (T) value;
  }

  /**
   * Replaces the current run's value.
   *
   * @throws DurableChatException if the run has not initialised it, or outside a chat run (L8)
   */
  public void set(T value) {
    RunScope scope = scope("set");
    if (!scope.values.containsKey(this)) {
      throw uninitialised(scope);
    }
    scope.values.put(this, Objects.requireNonNull(value, "chat local value"));
  }

  /** Whether the current run has initialised it (false outside a run). */
  public boolean isInitialized() {
    RunScope scope = RunScope.current();
    return scope != null && scope.values.containsKey(this);
  }

  private RunScope scope(String operation) {
    RunScope scope = RunScope.current();
    if (scope == null) {
      throw new DurableChatException(
          "chat local ["
              + id
              + "] "
              + operation
              + " outside a chat run; expected a call from an agent hook or run");
    }
    return scope;
  }

  private DurableChatException uninitialised(RunScope scope) {
    return new DurableChatException(
        "chat local ["
            + id
            + "] used before initialization in run ["
            + scope.runId
            + "]; initialize it in onBoot (L8)");
  }

  @Override
  public String toString() {
    return "ChatLocal[" + id + "]";
  }
}
