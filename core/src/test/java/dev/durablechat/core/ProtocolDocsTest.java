package dev.durablechat.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The repository explains itself: every rule id the main code cites (S, W, H, F, L, T and the
 * numbered invariants) is defined in {@code docs/protocol.md}, and no file points at a document
 * outside the repository, which a clone would not have.
 *
 * <p>Reads the repository around this module: the working directory of a test is the module's
 * folder, whose parent holds {@code docs/}.
 */
@DisplayName("Docs in the repository")
class ProtocolDocsTest {

  /** A rule id, or a range of them ({@code H2–H4}, {@code L1-L10}). */
  private static final Pattern RULE =
      Pattern.compile("\\b([SWHFLT])(\\d{1,2})(?:\\s?[–-]\\s?([SWHFLT])?(\\d{1,2}))?\\b");

  /** "invariant 6", "invariants 2, 3", "invariants 1–7". */
  private static final Pattern INVARIANT =
      Pattern.compile("\\binvariants?\\s+(\\d+(?:\\s*(?:[–-]|,|and)\\s*\\d+)*)");

  private static final Pattern DEFINED_RULE =
      Pattern.compile("^- \\*\\*([SWHFLT]\\d+)\\*\\* ", Pattern.MULTILINE);

  private static final Pattern DEFINED_INVARIANT =
      Pattern.compile("^- \\*\\*Invariant (\\d+)\\.\\*\\* ", Pattern.MULTILINE);

  /**
   * Names of documents that live outside the repository (the brackets keep this file from matching
   * itself).
   */
  private static final Pattern OUTSIDE =
      Pattern.compile(
          "[.][.]/shared|RECIPE[S]|PROTOCO[L][.]md|DESIG[N][.]md|HTT[P][.]md|STYL[E][.]md");

  private static final Path ROOT = repositoryRoot();

  @Test
  @DisplayName("every rule id and invariant cited under src/main is defined in docs/protocol.md")
  void everyCitedRuleIsDefined() {
    String protocol = read(ROOT.resolve("docs/protocol.md"));
    List<Path> sources = mainSources();

    assertThat(sources).as("main sources found under %s", ROOT).hasSizeGreaterThan(50);
    assertThat(undefinedCitations(sources, protocol)).isEmpty();
  }

  @Test
  @DisplayName("the check fails when a cited id is missing from the doc")
  void theCheckCanFail() {
    String protocol = read(ROOT.resolve("docs/protocol.md"));
    String withoutH4 = protocol.replace("- **H4** ", "- H4 was here ");
    String withoutInvariant6 = protocol.replace("- **Invariant 6.** ", "- Invariant 6 was here ");

    assertThat(undefinedCitations(mainSources(), withoutH4)).anyMatch(s -> s.startsWith("H4 "));
    assertThat(undefinedCitations(mainSources(), withoutInvariant6))
        .anyMatch(s -> s.startsWith("invariant 6 "));
  }

  @Test
  @DisplayName("ranges and lists of ids are read as every id they name")
  void readsRangesAndLists() {
    assertThat(citedRules("see L1–L10, H2-H4 and W9")).contains("L1", "L5", "L10", "H3", "W9");
    assertThat(citedInvariants("DESIGN invariants 1–3, and invariant 8")).contains(1, 2, 3, 8);
    assertThat(citedRules("an S3-compatible store, H2 in PostgreSQL mode"))
        .containsExactly("H2", "S3");
  }

  @Test
  @DisplayName("no file of the repository points at a document outside it")
  void noPathOutsideTheRepository() {
    var offenders = new ArrayList<String>();
    for (Path file : repositoryFiles()) {
      String text = readIfText(file);
      if (text == null) {
        continue;
      }
      String[] lines = text.split("\n", -1);
      for (int i = 0; i < lines.length; i++) {
        if (OUTSIDE.matcher(lines[i]).find()) {
          offenders.add(ROOT.relativize(file) + ":" + (i + 1) + ": " + lines[i].strip());
        }
      }
    }
    assertThat(offenders).isEmpty();
  }

  // ------------------------------------------------------------------------------- the checks

  /** Each citation with no definition, as {@code "H4 in core/src/main/.../X.java"}. */
  static Set<String> undefinedCitations(List<Path> sources, String protocol) {
    Set<String> rules = new TreeSet<>();
    Matcher m = DEFINED_RULE.matcher(protocol);
    while (m.find()) {
      rules.add(m.group(1));
    }
    Set<Integer> invariants = new TreeSet<>();
    m = DEFINED_INVARIANT.matcher(protocol);
    while (m.find()) {
      invariants.add(Integer.parseInt(m.group(1)));
    }
    Set<String> missing = new TreeSet<>();
    for (Path source : sources) {
      String prose = prose(source);
      String where = " in " + ROOT.relativize(source);
      for (String rule : citedRules(prose)) {
        if (!rules.contains(rule)) {
          missing.add(rule + where);
        }
      }
      for (int invariant : citedInvariants(prose)) {
        if (!invariants.contains(invariant)) {
          missing.add("invariant " + invariant + where);
        }
      }
    }
    return missing;
  }

  static Set<String> citedRules(String text) {
    Set<String> ids = new TreeSet<>();
    Matcher m = RULE.matcher(text);
    while (m.find()) {
      String letter = m.group(1);
      int from = Integer.parseInt(m.group(2));
      ids.add(letter + from);
      if (m.group(4) != null) {
        int to = Integer.parseInt(m.group(4));
        if (m.group(3) != null && !m.group(3).equals(letter)) {
          ids.add(m.group(3) + to); // "S1–T2" names two ids, not a range
        } else {
          for (int n = from + 1; n <= to && n - from <= 20; n++) {
            ids.add(letter + n);
          }
        }
      }
    }
    return ids;
  }

  static Set<Integer> citedInvariants(String text) {
    Set<Integer> numbers = new TreeSet<>();
    Matcher m = INVARIANT.matcher(text);
    while (m.find()) {
      Matcher parts = Pattern.compile("(\\d+)(?:\\s*[–-]\\s*(\\d+))?").matcher(m.group(1));
      while (parts.find()) {
        int from = Integer.parseInt(parts.group(1));
        int to = parts.group(2) == null ? from : Integer.parseInt(parts.group(2));
        for (int n = from; n <= to && n - from <= 20; n++) {
          numbers.add(n);
        }
      }
    }
    return numbers;
  }

  /**
   * The text of a source that a person wrote for people: the comments and string literals of a Java
   * file (so that an identifier like {@code T0} is not read as a citation), all of any other file
   * (HTML, JavaScript, properties).
   */
  static String prose(Path source) {
    String text = read(source);
    if (!source.toString().endsWith(".java")) {
      return text;
    }
    var out = new StringBuilder();
    int i = 0;
    int n = text.length();
    while (i < n) {
      char c = text.charAt(i);
      if (c == '/' && i + 1 < n && text.charAt(i + 1) == '/') {
        int end = text.indexOf('\n', i);
        end = end < 0 ? n : end;
        out.append(text, i + 2, end).append('\n');
        i = end;
      } else if (c == '/' && i + 1 < n && text.charAt(i + 1) == '*') {
        int end = text.indexOf("*/", i + 2);
        end = end < 0 ? n : end;
        out.append(text, i + 2, end).append('\n');
        i = end + 2;
      } else if (text.startsWith("\"\"\"", i)) {
        int end = text.indexOf("\"\"\"", i + 3);
        end = end < 0 ? n : end;
        out.append(text, i + 3, end).append('\n');
        i = end + 3;
      } else if (c == '"' || c == '\'') {
        int j = i + 1;
        while (j < n && text.charAt(j) != c && text.charAt(j) != '\n') {
          j += text.charAt(j) == '\\' ? 2 : 1;
        }
        out.append(text, i + 1, Math.min(j, n)).append('\n');
        i = j + 1;
      } else {
        i++;
      }
    }
    return out.toString();
  }

  // ------------------------------------------------------------------------------ repository

  private static Path repositoryRoot() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("docs/protocol.md"))
          && Files.isDirectory(p.resolve("api"))) {
        return p;
      }
    }
    throw new IllegalStateException(
        "no repository root with docs/protocol.md above [" + dir + "]; run from a module folder");
  }

  /** Every file under a module's {@code src/main}. */
  private static List<Path> mainSources() {
    return repositoryFiles().stream()
        .filter(p -> ROOT.relativize(p).toString().replace('\\', '/').contains("/src/main/"))
        .toList();
  }

  /**
   * The files git tracks; where git cannot say (a source archive), every file outside build output,
   * {@code node_modules} and {@code .git}.
   */
  private static List<Path> repositoryFiles() {
    List<Path> tracked = gitLsFiles();
    if (tracked != null) {
      return tracked;
    }
    Set<String> skipped = Set.of("target", "node_modules", ".git", ".idea", ".vscode");
    try (Stream<Path> walk = Files.walk(ROOT)) {
      return walk.filter(Files::isRegularFile)
          .filter(
              p -> {
                for (Path part : ROOT.relativize(p)) {
                  if (skipped.contains(part.toString())) {
                    return false;
                  }
                }
                return true;
              })
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<Path> gitLsFiles() {
    try {
      Process git =
          new ProcessBuilder("git", "ls-files", "-z")
              .directory(ROOT.toFile())
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
      byte[] out = git.getInputStream().readAllBytes();
      if (!git.waitFor(30, TimeUnit.SECONDS) || git.exitValue() != 0) {
        return null;
      }
      var files = new ArrayList<Path>();
      for (String name : new String(out, StandardCharsets.UTF_8).split("\0")) {
        Path file = ROOT.resolve(name);
        if (!name.isEmpty() && Files.isRegularFile(file)) {
          files.add(file);
        }
      }
      return files.isEmpty() ? null : files;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The file as UTF-8 text, or null for a binary file (one with a NUL byte) or a large one. */
  private static String readIfText(Path file) {
    try {
      if (Files.size(file) > 4 * 1024 * 1024) {
        return null;
      }
      byte[] bytes = Files.readAllBytes(file);
      for (byte b : bytes) {
        if (b == 0) {
          return null;
        }
      }
      return new String(bytes, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
