package dev.durablechat.core.fold;

import dev.durablechat.api.JsonArray;
import dev.durablechat.api.JsonBoolean;
import dev.durablechat.api.JsonNull;
import dev.durablechat.api.JsonNumber;
import dev.durablechat.api.JsonObject;
import dev.durablechat.api.JsonString;
import dev.durablechat.api.JsonValue;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The few JavaScript semantics the fold needs to behave like the AI SDK. A Java {@code null} stands
 * for JavaScript's {@code undefined} (an absent member); {@link JsonNull} is JSON null.
 */
final class Js {
  private Js() {}

  /** JavaScript's {@code value != null}: neither undefined nor null. */
  static boolean present(@Nullable JsonValue value) {
    return value != null && !(value instanceof JsonNull);
  }

  /** JavaScript's {@code a ?? b}. */
  static @Nullable JsonValue coalesce(@Nullable JsonValue a, @Nullable JsonValue b) {
    return present(a) ? a : b;
  }

  /** JavaScript truthiness of a JSON value. */
  static boolean truthy(@Nullable JsonValue value) {
    if (value == null || value instanceof JsonNull) {
      return false;
    } else if (value instanceof JsonBoolean b) {
      return b.value();
    } else if (value instanceof JsonString s) {
      return !s.value().isEmpty();
    } else if (value instanceof JsonNumber n) {
      return n.toBigDecimal().signum() != 0;
    }
    return true;
  }

  /** JavaScript's {@code a === b} for JSON values: objects and arrays are never equal here. */
  static boolean strictEquals(@Nullable JsonValue a, @Nullable JsonValue b) {
    if (a == null || b == null) {
      return a == b;
    }
    if (a instanceof JsonNumber x && b instanceof JsonNumber y) {
      return x.toBigDecimal().compareTo(y.toBigDecimal()) == 0;
    }
    if (a instanceof JsonObject || a instanceof JsonArray) {
      return false;
    }
    return a.equals(b);
  }

  /** {@code String(value)}, as string concatenation and template literals apply it. */
  static String string(@Nullable JsonValue value) {
    if (value == null) {
      return "undefined";
    } else if (value instanceof JsonString s) {
      return s.value();
    } else if (value instanceof JsonNumber n) {
      return numberString(n);
    } else if (value instanceof JsonObject) {
      return "[object Object]";
    } else if (value instanceof JsonArray array) {
      var out = new StringBuilder();
      for (int i = 0; i < array.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        JsonValue element = array.get(i);
        if (!(element instanceof JsonNull)) {
          out.append(string(element));
        }
      }
      return out.toString();
    }
    return value.toString(); // true, false, null
  }

  private static String numberString(JsonNumber n) {
    // Integers within the exactly representable range print as JavaScript prints them; other
    // numbers are rare in string positions and print as their normalized decimal.
    BigDecimal d = n.toBigDecimal();
    if (d.signum() == 0) {
      return "0";
    }
    BigDecimal stripped = d.stripTrailingZeros();
    if (stripped.scale() <= 0 && stripped.abs().compareTo(BigDecimal.valueOf(1L << 53)) <= 0) {
      return stripped.toBigInteger().toString();
    }
    return stripped.toPlainString();
  }

  /** The key a JavaScript object uses for a value ({@code obj[value]}). */
  static String key(@Nullable JsonValue value) {
    return string(value);
  }

  /**
   * The AI SDK's deep merge of message metadata: members of {@code overrides} replace those of
   * {@code base}, except that two plain objects merge recursively. Spreading a non-object base
   * copies its indexed members (strings by character, arrays by element), as JavaScript does.
   */
  static JsonValue mergeObjects(JsonValue base, JsonValue overrides) {
    LinkedHashMap<String, JsonValue> result = spread(base);
    if (overrides instanceof JsonObject o) {
      for (var member : o.members().entrySet()) {
        mergeMember(base, result, member.getKey(), member.getValue());
      }
    } else if (overrides instanceof JsonArray a) {
      for (int i = 0; i < a.size(); i++) {
        mergeMember(base, result, Integer.toString(i), a.get(i));
      }
    } else if (overrides instanceof JsonString s) {
      for (int i = 0; i < s.value().length(); i++) {
        mergeMember(
            base, result, Integer.toString(i), new JsonString(String.valueOf(s.value().charAt(i))));
      }
    }
    return JsonObject.adopt(result);
  }

  private static void mergeMember(
      JsonValue base, LinkedHashMap<String, JsonValue> result, String key, JsonValue value) {
    if (key.equals("__proto__") || key.equals("constructor") || key.equals("prototype")) {
      return;
    }
    JsonValue baseValue = null;
    if (base instanceof JsonObject b) {
      baseValue = b.get(key);
    } else if (base instanceof JsonArray b) {
      int index = indexOf(key);
      baseValue = index >= 0 && index < b.size() ? b.get(index) : null;
    }
    if (value instanceof JsonObject && baseValue instanceof JsonObject) {
      result.put(key, mergeObjects(baseValue, value));
    } else {
      result.put(key, value);
    }
  }

  private static int indexOf(String key) {
    if (key.isEmpty() || key.length() > 9 || (key.length() > 1 && key.charAt(0) == '0')) {
      return -1;
    }
    for (int i = 0; i < key.length(); i++) {
      if (key.charAt(i) < '0' || key.charAt(i) > '9') {
        return -1;
      }
    }
    return Integer.parseInt(key);
  }

  private static LinkedHashMap<String, JsonValue> spread(JsonValue value) {
    var copy = new LinkedHashMap<String, JsonValue>();
    if (value instanceof JsonObject o) {
      copy.putAll(o.members());
    } else if (value instanceof JsonArray a) {
      for (int i = 0; i < a.size(); i++) {
        copy.put(Integer.toString(i), a.get(i));
      }
    } else if (value instanceof JsonString s) {
      for (int i = 0; i < s.value().length(); i++) {
        copy.put(Integer.toString(i), new JsonString(String.valueOf(s.value().charAt(i))));
      }
    }
    return copy;
  }
}
