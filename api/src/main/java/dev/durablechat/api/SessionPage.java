package dev.durablechat.api;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One page of a session listing ({@link SessionQuery}).
 *
 * @param sessions the sessions of the page, in the query's order
 * @param nextCursor the cursor of the next page, or null when this is the last one
 */
public record SessionPage(List<Session> sessions, @Nullable String nextCursor) {

  /** Copies the list. */
  public SessionPage {
    sessions = List.copyOf(sessions);
  }

  /**
   * The page a store answers with when it fetched up to {@code query.limit() + 1} matching rows
   * after the query's position, in order: the first {@code limit} are the page, and the extra row,
   * if there is one, says a next page exists.
   */
  public static SessionPage of(SessionQuery query, List<Session> fetched) {
    if (fetched.size() <= query.limit()) {
      return new SessionPage(fetched, null);
    }
    List<Session> page = fetched.subList(0, query.limit());
    Session last = page.get(page.size() - 1);
    return new SessionPage(page, query.cursorAfter(SessionQuery.Position.after(last)));
  }
}
