package dev.durablechat.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.durablechat.api.InvalidPayloadException;
import dev.durablechat.api.JsonValue;

/**
 * Binds JSON from the client to the agent's classes with Jackson: a session's client data, an
 * action's payload (the action schema).
 */
final class ClientDataBinder {
  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
          .build();

  private ClientDataBinder() {}

  /**
   * The client data as a {@code type}.
   *
   * @throws InvalidPayloadException naming the field that does not bind
   */
  static <C> C bind(String agentId, Class<C> type, JsonValue clientData) {
    return bind("agent [" + agentId + "]", "client data", "clientData", type, clientData);
  }

  /**
   * The value as a {@code type}; errors start with {@code owner} (e.g. {@code agent [support]}),
   * {@code what} names the value ({@code client data}, {@code action}) and {@code root} starts the
   * field path.
   *
   * @throws InvalidPayloadException naming the field that does not bind
   */
  static <C> C bind(String owner, String what, String root, Class<C> type, JsonValue value) {
    if (type.isInstance(value)) {
      return type.cast(value);
    }
    try {
      return MAPPER.readValue(value.toString(), type);
    } catch (JsonMappingException e) {
      var path = new StringBuilder(root);
      for (JsonMappingException.Reference ref : e.getPath()) {
        if (ref.getFieldName() != null) {
          path.append('.').append(ref.getFieldName());
        } else if (ref.getIndex() >= 0) {
          path.append('[').append(ref.getIndex()).append(']');
        }
      }
      String detail = e.getOriginalMessage();
      int newline = detail == null ? -1 : detail.indexOf('\n');
      throw new InvalidPayloadException(
          owner
              + " "
              + what
              + " field ["
              + path
              + "] does not bind to ["
              + type.getSimpleName()
              + "]: "
              + (newline < 0 ? detail : detail.substring(0, newline)),
          e);
    } catch (JsonProcessingException e) {
      throw new InvalidPayloadException(
          owner + " " + what + " is not valid json: " + e.getOriginalMessage(), e);
    }
  }
}
