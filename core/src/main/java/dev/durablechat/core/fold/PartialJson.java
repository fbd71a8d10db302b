package dev.durablechat.core.fold;

import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.Json;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonValue;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * Parses the JSON text of a tool call's input while it is still streaming, the way the AI SDK does
 * (its {@code parsePartialJson} over {@code fixJson}): try the text as it is, else cut it back to
 * the last position that can end a value and close whatever is still open, else give up.
 *
 * <p>The repair is a state machine over the text, written from the SDK's behaviour: a number cut
 * mid-way keeps its last digit ({@code 12.} becomes {@code 12}), a literal cut mid-way is completed
 * ({@code tr} becomes {@code true}), a string is closed, an escape cut mid-way is dropped, and a
 * key without a value is dropped with everything after it.
 */
final class PartialJson {
  private PartialJson() {}

  // States of the repair machine; small ints keep the stack a plain int array.
  private static final int ROOT = 0;
  private static final int FINISH = 1;
  private static final int OBJECT_START = 2;
  private static final int OBJECT_AFTER_COMMA = 3;
  private static final int OBJECT_KEY = 4;
  private static final int OBJECT_AFTER_KEY = 5;
  private static final int OBJECT_BEFORE_VALUE = 6;
  private static final int OBJECT_AFTER_VALUE = 7;
  private static final int STRING = 8;
  private static final int STRING_ESCAPE = 9;
  private static final int STRING_UNICODE_ESCAPE = 10;
  private static final int ARRAY_START = 11;
  private static final int ARRAY_AFTER_VALUE = 12;
  private static final int ARRAY_AFTER_COMMA = 13;
  private static final int NUMBER = 14;
  private static final int LITERAL = 15;

  /** The value of the partial text, or null (undefined) when even the repaired text fails. */
  static @Nullable JsonValue parse(String text) {
    var fixer = new Fixer(text);
    String fixed = fixer.run();
    // Text that leaves a string, array or object open cannot parse as it is, so the strict
    // attempt (whose failure costs an exception) is made only when everything was closed.
    if (fixer.closed()) {
      JsonValue value = parseStrict(text);
      if (value != null) {
        return value;
      }
    }
    return parseStrict(fixed);
  }

  /** JSON.parse plus the SDK's refusal of prototype-polluting members; null when either fails. */
  private static @Nullable JsonValue parseStrict(String text) {
    JsonValue value;
    try {
      value = Json.parse(text);
    } catch (InvalidPayloadException e) {
      return null;
    }
    return isForbidden(value) ? null : value;
  }

  /**
   * The SDK parses with secure-json-parse, which rejects an object that has an own {@code
   * __proto__} member, or a {@code constructor} member that is an object with a {@code prototype}
   * member.
   */
  private static boolean isForbidden(JsonValue value) {
    if (value instanceof JsonObject object) {
      if (object.has("__proto__")) {
        return true;
      }
      if (object.get("constructor") instanceof JsonObject c && c.has("prototype")) {
        return true;
      }
      for (JsonValue member : object.members().values()) {
        if (isForbidden(member)) {
          return true;
        }
      }
    } else if (value instanceof dev.durablechat.api.JsonArray array) {
      for (JsonValue element : array.elements()) {
        if (isForbidden(element)) {
          return true;
        }
      }
    }
    return false;
  }

  /** Repairs a JSON prefix into text that may parse; see the class comment. */
  static String fix(String input) {
    var machine = new Fixer(input);
    return machine.run();
  }

  private static final class Fixer {
    private final String input;
    private int[] stack = new int[16];
    private int size;
    private int lastValidIndex = -1;
    private int literalStart = -1;
    private int unicodeEscapeDigits;

    Fixer(String input) {
      this.input = input;
      push(ROOT);
    }

    private void push(int state) {
      if (size == stack.length) {
        stack = Arrays.copyOf(stack, size * 2);
      }
      stack[size++] = state;
    }

    private void pop() {
      // the SDK pops an empty array harmlessly; so do we
      if (size > 0) {
        size--;
      }
    }

    private void swapTop(int state) {
      pop();
      push(state);
    }

    private void valueStart(char c, int i, int swapState) {
      switch (c) {
        case '"' -> {
          lastValidIndex = i;
          swapTop(swapState);
          push(STRING);
        }
        case 'f', 't', 'n' -> {
          lastValidIndex = i;
          literalStart = i;
          swapTop(swapState);
          push(LITERAL);
        }
        case '-' -> {
          swapTop(swapState);
          push(NUMBER);
        }
        case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> {
          lastValidIndex = i;
          swapTop(swapState);
          push(NUMBER);
        }
        case '{' -> {
          lastValidIndex = i;
          swapTop(swapState);
          push(OBJECT_START);
        }
        case '[' -> {
          lastValidIndex = i;
          swapTop(swapState);
          push(ARRAY_START);
        }
        default -> {
          // anything else cannot start a value: the machine ignores it
        }
      }
    }

    private void afterObjectValue(char c, int i) {
      if (c == ',') {
        swapTop(OBJECT_AFTER_COMMA);
      } else if (c == '}') {
        lastValidIndex = i;
        pop();
      }
    }

    private void afterArrayValue(char c, int i) {
      if (c == ',') {
        swapTop(ARRAY_AFTER_COMMA);
      } else if (c == ']') {
        lastValidIndex = i;
        pop();
      }
    }

    /** Whether no string, array or object is open: only a top-level scalar may be unfinished. */
    boolean closed() {
      for (int i = 0; i < size; i++) {
        int state = stack[i];
        if (state != FINISH && state != NUMBER && state != LITERAL) {
          return false;
        }
      }
      return true;
    }

    private int top() {
      // The SDK reads past an emptied stack as undefined, which matches no state.
      return size == 0 ? -1 : stack[size - 1];
    }

    private static boolean isHexDigit(char c) {
      return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
    }

    private static boolean isLiteralPrefix(String partial) {
      return "true".startsWith(partial)
          || "false".startsWith(partial)
          || "null".startsWith(partial);
    }

    String run() {
      int n = input.length();
      for (int i = 0; i < n; i++) {
        char c = input.charAt(i);
        switch (top()) {
          case ROOT -> valueStart(c, i, FINISH);
          case OBJECT_START -> {
            if (c == '"') {
              swapTop(OBJECT_KEY);
            } else if (c == '}') {
              lastValidIndex = i;
              pop();
            }
          }
          case OBJECT_AFTER_COMMA -> {
            if (c == '"') {
              swapTop(OBJECT_KEY);
            }
          }
          case OBJECT_KEY -> {
            if (c == '"') {
              swapTop(OBJECT_AFTER_KEY);
            }
          }
          case OBJECT_AFTER_KEY -> {
            if (c == ':') {
              swapTop(OBJECT_BEFORE_VALUE);
            }
          }
          case OBJECT_BEFORE_VALUE -> valueStart(c, i, OBJECT_AFTER_VALUE);
          case OBJECT_AFTER_VALUE -> afterObjectValue(c, i);
          case STRING -> {
            if (c == '"') {
              pop();
              lastValidIndex = i;
            } else if (c == '\\') {
              push(STRING_ESCAPE);
            } else {
              lastValidIndex = i;
            }
          }
          case ARRAY_START -> {
            if (c == ']') {
              lastValidIndex = i;
              pop();
            } else {
              lastValidIndex = i;
              valueStart(c, i, ARRAY_AFTER_VALUE);
            }
          }
          case ARRAY_AFTER_VALUE -> {
            if (c == ',') {
              swapTop(ARRAY_AFTER_COMMA);
            } else if (c == ']') {
              lastValidIndex = i;
              pop();
            } else {
              lastValidIndex = i;
            }
          }
          case ARRAY_AFTER_COMMA -> valueStart(c, i, ARRAY_AFTER_VALUE);
          case STRING_ESCAPE -> {
            pop();
            if (c == 'u') {
              unicodeEscapeDigits = 0;
              push(STRING_UNICODE_ESCAPE);
            } else {
              lastValidIndex = i;
            }
          }
          case STRING_UNICODE_ESCAPE -> {
            if (isHexDigit(c)) {
              unicodeEscapeDigits++;
              if (unicodeEscapeDigits == 4) {
                pop();
                lastValidIndex = i;
              }
            }
          }
          case NUMBER -> number(c, i);
          case LITERAL -> {
            String partial = input.substring(literalStart, i + 1);
            if (!isLiteralPrefix(partial)) {
              pop();
              if (top() == OBJECT_AFTER_VALUE) {
                afterObjectValue(c, i);
              } else if (top() == ARRAY_AFTER_VALUE) {
                afterArrayValue(c, i);
              }
            } else {
              lastValidIndex = i;
            }
          }
          default -> {
            // FINISH, or an emptied stack: the rest of the input is ignored
          }
        }
      }
      return close();
    }

    private void number(char c, int i) {
      switch (c) {
        case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> lastValidIndex = i;
        case 'e', 'E', '-', '.' -> {
          // not a valid end of a number: keep the last digit as the end
        }
        case ',' -> {
          pop();
          if (top() == ARRAY_AFTER_VALUE) {
            afterArrayValue(c, i);
          }
          if (top() == OBJECT_AFTER_VALUE) {
            afterObjectValue(c, i);
          }
        }
        case '}' -> {
          pop();
          if (top() == OBJECT_AFTER_VALUE) {
            afterObjectValue(c, i);
          }
        }
        case ']' -> {
          pop();
          if (top() == ARRAY_AFTER_VALUE) {
            afterArrayValue(c, i);
          }
        }
        default -> pop();
      }
    }

    private String close() {
      var result = new StringBuilder(input.length() + 8);
      result.append(input, 0, lastValidIndex + 1);
      // from the top of the stack down, which is the closing order
      for (int i = size - 1; i >= 0; i--) {
        int state = stack[i];
        switch (state) {
          case STRING -> result.append('"');
          case OBJECT_KEY,
              OBJECT_AFTER_KEY,
              OBJECT_AFTER_COMMA,
              OBJECT_START,
              OBJECT_BEFORE_VALUE,
              OBJECT_AFTER_VALUE ->
              result.append('}');
          case ARRAY_START, ARRAY_AFTER_COMMA, ARRAY_AFTER_VALUE -> result.append(']');
          case LITERAL -> {
            String partial = input.substring(literalStart);
            for (String word : new String[] {"true", "false", "null"}) {
              if (word.startsWith(partial)) {
                result.append(word, partial.length(), word.length());
                break;
              }
            }
          }
          default -> {
            // ROOT, FINISH, NUMBER and escapes add nothing
          }
        }
      }
      return result.toString();
    }
  }
}
