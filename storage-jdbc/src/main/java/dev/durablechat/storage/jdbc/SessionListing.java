package dev.durablechat.storage.jdbc;

import dev.durablechat.api.Environment;
import dev.durablechat.api.Json;
import dev.durablechat.api.Session;
import dev.durablechat.api.SessionPage;
import dev.durablechat.api.SessionQuery;
import dev.durablechat.api.TriggerConfig;
import dev.durablechat.api.spi.NewSession;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Session listing ({@code SessionStore.listSessions}): keyset pagination over an index, so a page
 * costs the same at any depth. Schema version 4 adds what it reads:
 *
 * <ul>
 *   <li>{@code dc_sessions_listing (project_ref, env_slug, created_at DESC, friendly_id DESC)}: the
 *       order of every listing; the position {@code (created_at, friendly_id)} is an index range
 *       bound. Descending, because H2 sorts by an index only in its own direction: newest first
 *       (the default) reads it forwards on both databases; PostgreSQL also reads it backwards for
 *       oldest first, which H2 sorts;
 *   <li>{@code dc_sessions_agent_listing}: the same under an agent id, for the agent filter;
 *   <li>{@code dc_session_tags}: one row per (session, tag), written with the session (a session's
 *       trigger config never changes), indexed in listing order under each tag. Its rows go with
 *       their session ({@code ON DELETE CASCADE}), so deleting a session needs no step of its own.
 * </ul>
 *
 * <p>The status and updated-time filters are checked on the rows the index yields: they narrow a
 * page, but a rare status (few closed among many open) costs a longer scan.
 */
final class SessionListing {

  private final Database db;

  SessionListing(Database db) {
    this.db = db;
  }

  /** Schema version 4: the listing indexes and the tag table (idempotent statements). */
  static List<String> ddl() {
    return List.of(
        "CREATE INDEX IF NOT EXISTS dc_sessions_listing"
            + " ON dc_sessions (project_ref, env_slug, created_at DESC, friendly_id DESC)",
        "CREATE INDEX IF NOT EXISTS dc_sessions_agent_listing"
            + " ON dc_sessions (project_ref, env_slug, agent_id, created_at DESC, friendly_id DESC)",
        "CREATE TABLE IF NOT EXISTS dc_session_tags ("
            + " session_id VARCHAR(160) NOT NULL"
            + " REFERENCES dc_sessions (friendly_id) ON DELETE CASCADE,"
            + " tag VARCHAR NOT NULL,"
            + " project_ref VARCHAR(64) NOT NULL,"
            + " env_slug VARCHAR(64) NOT NULL,"
            + " created_at TIMESTAMP WITH TIME ZONE NOT NULL,"
            + " PRIMARY KEY (session_id, tag))",
        "CREATE INDEX IF NOT EXISTS dc_session_tags_listing"
            + " ON dc_session_tags (project_ref, env_slug, tag, created_at DESC, session_id DESC)");
  }

  /** Writes the tag rows of the sessions created before version 4 (once, in the migration). */
  static void backfillTags(Connection conn) throws SQLException {
    var rows = new ArrayList<String[]>();
    try (PreparedStatement ps =
            conn.prepareStatement(
                "SELECT friendly_id, trigger_config FROM dc_sessions"
                    + " WHERE trigger_config LIKE '%\"tags\"%'");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        rows.add(new String[] {rs.getString(1), rs.getString(2)});
      }
    }
    try (PreparedStatement ps =
        conn.prepareStatement(
            "INSERT INTO dc_session_tags (session_id, tag, project_ref, env_slug, created_at)"
                + " SELECT friendly_id, ?, project_ref, env_slug, created_at FROM dc_sessions s"
                + " WHERE friendly_id = ? AND NOT EXISTS (SELECT 1 FROM dc_session_tags t"
                + " WHERE t.session_id = s.friendly_id AND t.tag = ?)")) {
      for (String[] row : rows) {
        for (String tag : tags(TriggerConfig.fromJson(Json.parseObject(row[1])))) {
          ps.setString(1, tag);
          ps.setString(2, row[0]);
          ps.setString(3, tag);
          ps.executeUpdate();
        }
      }
    }
  }

  /** Writes the new session's tag rows, in the transaction that inserts it. */
  void insertTags(Connection conn, NewSession s) throws SQLException {
    List<String> tags = tags(s.triggerConfig());
    if (tags.isEmpty()) {
      return;
    }
    try (PreparedStatement ps =
        db.prepare(
            conn,
            "INSERT INTO dc_session_tags (session_id, tag, project_ref, env_slug, created_at)"
                + " VALUES (?, ?, ?, ?, ?)")) {
      for (String tag : tags) {
        ps.setString(1, s.friendlyId());
        ps.setString(2, tag);
        ps.setString(3, s.environment().projectRef());
        ps.setString(4, s.environment().envSlug());
        Database.setInstant(ps, 5, s.createdAt());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** One page; see {@code SessionStore.listSessions}. */
  SessionPage page(Connection conn, Environment environment, SessionQuery q, Instant now)
      throws SQLException {
    Select select = select(environment, q, now);
    var fetched = new ArrayList<Session>(Math.min(q.limit() + 1, 64));
    try (PreparedStatement ps = db.prepare(conn, select.sql())) {
      select.bind(ps);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          fetched.add(SessionRows.read(rs));
        }
      }
    }
    return SessionPage.of(q, fetched);
  }

  /** A listing statement and its parameters (Strings, Instants, one Integer: the limit). */
  record Select(String sql, List<Object> params) {
    void bind(PreparedStatement ps) throws SQLException {
      for (int i = 0; i < params.size(); i++) {
        Object p = params.get(i);
        if (p instanceof Instant t) {
          Database.setInstant(ps, i + 1, t);
        } else if (p instanceof Integer n) {
          ps.setInt(i + 1, n);
        } else {
          ps.setString(i + 1, (String) p);
        }
      }
    }
  }

  /** The statement of one page (its plan is checked in the tests: it must read an index). */
  static Select select(Environment environment, SessionQuery q, Instant now) {
    boolean byTag = q.tag() != null;
    // The key columns come from the table whose index gives the order: the tag rows carry the
    // session's creation time, so a tag listing reads its index and joins each hit to its row.
    String keyTable = byTag ? "t" : "s";
    String created = keyTable + ".created_at";
    String id = keyTable + (byTag ? ".session_id" : ".friendly_id");
    var sql = new StringBuilder("SELECT ").append(qualified("s"));
    var params = new ArrayList<Object>();
    if (byTag) {
      sql.append(" FROM dc_session_tags t JOIN dc_sessions s ON s.friendly_id = t.session_id")
          .append(" WHERE t.project_ref = ? AND t.env_slug = ? AND t.tag = ?");
      params.add(environment.projectRef());
      params.add(environment.envSlug());
      params.add(q.tag());
    } else {
      sql.append(" FROM dc_sessions s WHERE s.project_ref = ? AND s.env_slug = ?");
      params.add(environment.projectRef());
      params.add(environment.envSlug());
    }
    if (q.agentId() != null) {
      sql.append(" AND s.agent_id = ?");
      params.add(q.agentId());
    }
    boolean newest = q.order() == SessionQuery.Order.NEWEST_FIRST;
    SessionQuery.Position after = q.after();
    if (after != null) {
      // Written so that the first term is a plain index range bound on created_at; the second
      // settles the ties within one instant.
      String op = newest ? "<" : ">";
      sql.append(" AND ")
          .append(created)
          .append(' ')
          .append(op)
          .append("= ? AND (")
          .append(created)
          .append(' ')
          .append(op)
          .append(" ? OR ")
          .append(id)
          .append(' ')
          .append(op)
          .append(" ?)");
      params.add(after.createdAt());
      params.add(after.createdAt());
      params.add(after.friendlyId());
    }
    if (q.createdFrom() != null) {
      sql.append(" AND ").append(created).append(" >= ?");
      params.add(q.createdFrom());
    }
    if (q.createdTo() != null) {
      sql.append(" AND ").append(created).append(" < ?");
      params.add(q.createdTo());
    }
    if (q.updatedFrom() != null) {
      sql.append(" AND s.updated_at >= ?");
      params.add(q.updatedFrom());
    }
    if (q.updatedTo() != null) {
      sql.append(" AND s.updated_at < ?");
      params.add(q.updatedTo());
    }
    if (q.status() != null) {
      switch (q.status()) {
        case ACTIVE -> {
          sql.append(" AND s.closed_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?)");
          params.add(now);
        }
        case CLOSED -> sql.append(" AND s.closed_at IS NOT NULL");
        case EXPIRED -> {
          sql.append(" AND s.closed_at IS NULL AND s.expires_at <= ?");
          params.add(now);
        }
      }
    }
    String dir = newest ? " DESC" : " ASC";
    sql.append(" ORDER BY ");
    if (newest) {
      // The index's equality columns lead the ORDER BY (a no-op, they are fixed by the WHERE): H2
      // sorts by an index only when the ORDER BY is a prefix of its columns, in their direction.
      sql.append(keyTable).append(".project_ref, ").append(keyTable).append(".env_slug, ");
      if (byTag) {
        sql.append("t.tag, ");
      } else if (q.agentId() != null) {
        sql.append("s.agent_id, ");
      }
    }
    sql.append(created).append(dir).append(", ").append(id).append(dir);
    sql.append(" LIMIT ?");
    params.add(q.limit() + 1);
    return new Select(sql.toString(), params);
  }

  /** The session columns, each qualified by the alias (a join has two created_at columns). */
  private static String qualified(String alias) {
    return Stream.of(SessionRows.COLUMNS.split(","))
        .map(String::trim)
        .map(c -> alias + "." + c)
        .collect(Collectors.joining(", "));
  }

  /** The distinct tags, in their order (a repeated tag is one row). */
  private static List<String> tags(TriggerConfig config) {
    return List.copyOf(new LinkedHashSet<>(config.tags()));
  }
}
