#include "core/media_frame.hpp"
#include "core/media_out.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/crypto.hpp"

namespace al {
namespace {

// Example messages shaped as in Twilio's "Media Streams - WebSocket
// Messages" page (PROTOCOLS.md §1.2), including its field order.
const std::string connected_json
  = R"({"event": "connected", "protocol": "Call", "version": "1.0.0"})";

const std::string start_json = R"({
  "event": "start",
  "sequenceNumber": "1",
  "start": {
    "accountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "callSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "tracks": [ "inbound" ],
    "mediaFormat": {
      "encoding": "audio/x-mulaw",
      "sampleRate": 8000,
      "channels": 1
    },
    "customParameters": {
      "FirstName": "Jane",
      "LastName": "Doe",
      "RemoteParty": "Bob"
    }
  },
  "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
})";

const std::string mark_json = R"({
  "event": "mark",
  "sequenceNumber": "4",
  "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
  "mark": { "name": "my label" }
})";

const std::string dtmf_json = R"({
  "event": "dtmf",
  "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
  "sequenceNumber": "5",
  "dtmf": { "track": "inbound_track", "digit": "1" }
})";

const std::string stop_json = R"({
  "event": "stop",
  "sequenceNumber": "5",
  "stop": {
    "accountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "callSid": "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
  },
  "streamSid": "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
})";

/// 160 bytes 0..159: a recognisable 20 ms payload.
std::string ramp_frame() {
  std::string f(160, '\0');
  for (int i = 0; i < 160; ++i)
    f[i] = static_cast<char>(i);
  return f;
}

std::string media_json(std::string_view payload_b64,
                       std::string_view seq = R"("3")") {
  std::string s = R"({"event": "media", "sequenceNumber": )";
  s += seq;
  s += R"(, "media": {"track": "inbound", "chunk": "2", "timestamp": "5",)";
  s += R"( "payload": ")";
  s += payload_b64;
  s += R"("}, "streamSid": "MZ123"})";
  return s;
}

class media_frame_test : public ::testing::Test {
protected:
  media_error parse(std::string_view text) {
    return parser_.parse_copy(text, frame_);
  }
  media_frame_parser parser_;
  media_frame frame_;
};

TEST_F(media_frame_test, connected) {
  ASSERT_EQ(parse(connected_json), media_error::ok);
  EXPECT_EQ(frame_.event, media_event::connected);
  EXPECT_EQ(frame_.protocol, "Call");
  EXPECT_EQ(frame_.version, "1.0.0");
  EXPECT_EQ(frame_.sequence_number, 0u);
  EXPECT_TRUE(frame_.stream_sid.empty());
}

TEST_F(media_frame_test, start_with_custom_parameters) {
  ASSERT_EQ(parse(start_json), media_error::ok);
  EXPECT_EQ(frame_.event, media_event::start);
  EXPECT_EQ(frame_.sequence_number, 1u);
  EXPECT_EQ(frame_.stream_sid, "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
  EXPECT_EQ(frame_.account_sid, "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
  EXPECT_EQ(frame_.call_sid, "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
  ASSERT_EQ(frame_.tracks.size(), 1u);
  EXPECT_EQ(frame_.tracks[0], "inbound");
  EXPECT_EQ(frame_.encoding, "audio/x-mulaw");
  EXPECT_EQ(frame_.sample_rate, 8000u);
  EXPECT_EQ(frame_.channels, 1u);
  ASSERT_EQ(frame_.custom_parameters.size(), 3u);
  EXPECT_EQ(frame_.custom_parameters[0].first, "FirstName");
  EXPECT_EQ(frame_.custom_parameters[0].second, "Jane");
  EXPECT_EQ(frame_.custom_parameters[2].first, "RemoteParty");
  EXPECT_EQ(frame_.custom_parameters[2].second, "Bob");
  ASSERT_NE(frame_.custom_parameter("LastName"), nullptr);
  EXPECT_EQ(*frame_.custom_parameter("LastName"), "Doe");
  EXPECT_EQ(frame_.custom_parameter("Nope"), nullptr);
}

TEST_F(media_frame_test, start_stream_sid_only_inside_start) {
  ASSERT_EQ(parse(R"({"event":"start","start":{"streamSid":"MZ9",)"
                  R"("callSid":"CA1","customParameters":{"tenant":"abc",)"
                  R"("n":42,"b":true,"z":null}}})"),
            media_error::ok);
  EXPECT_EQ(frame_.stream_sid, "MZ9");
  ASSERT_EQ(frame_.custom_parameters.size(), 4u);
  EXPECT_EQ(*frame_.custom_parameter("tenant"), "abc");
  EXPECT_EQ(*frame_.custom_parameter("n"), "42");
  EXPECT_EQ(*frame_.custom_parameter("b"), "true");
  EXPECT_EQ(*frame_.custom_parameter("z"), "");
}

TEST_F(media_frame_test, start_without_call_sid_is_missing_field) {
  EXPECT_EQ(parse(R"({"event":"start","streamSid":"MZ1","start":{}})"),
            media_error::missing_field);
  EXPECT_EQ(parse(R"({"event":"start","streamSid":"MZ1"})"),
            media_error::missing_field);
}

TEST_F(media_frame_test, start_custom_parameter_object_is_wrong_type) {
  EXPECT_EQ(parse(R"({"event":"start","streamSid":"MZ1","start":)"
                  R"({"callSid":"CA1","customParameters":{"a":{}}}})"),
            media_error::wrong_type);
  EXPECT_EQ(parse(R"({"event":"start","streamSid":"MZ1","start":)"
                  R"({"callSid":"CA1","tracks":"inbound"}})"),
            media_error::wrong_type);
}

TEST_F(media_frame_test, media_decodes_payload_and_counters) {
  auto frame = ramp_frame();
  ASSERT_EQ(parse(media_json(crypto::base64_encode(frame))), media_error::ok);
  EXPECT_EQ(frame_.event, media_event::media);
  EXPECT_EQ(frame_.stream_sid, "MZ123");
  EXPECT_EQ(frame_.sequence_number, 3u);
  EXPECT_EQ(frame_.track, "inbound");
  EXPECT_EQ(frame_.chunk, 2u);
  EXPECT_EQ(frame_.timestamp, 5u);
  EXPECT_EQ(frame_.payload, frame);
}

TEST_F(media_frame_test, media_timestamp_large_value) {
  std::string s = R"({"event":"media","streamSid":"MZ1","media":)"
                  R"({"timestamp":"18446744073709551615","payload":""}})";
  ASSERT_EQ(parse(s), media_error::ok);
  EXPECT_EQ(frame_.timestamp, 18446744073709551615ull);
  EXPECT_TRUE(frame_.payload.empty());
  // One more overflows uint64.
  s = R"({"event":"media","streamSid":"MZ1","media":)"
      R"({"timestamp":"18446744073709551616","payload":""}})";
  EXPECT_EQ(parse(s), media_error::wrong_type);
}

TEST_F(media_frame_test, media_payload_with_escaped_slashes) {
  // JSON allows "\/" for "/": base64 "////" is three 0xFF bytes.
  ASSERT_EQ(parse(R"({"event":"media","streamSid":"MZ1",)"
                  R"("media":{"payload":"\/\/\/\/"}})"),
            media_error::ok);
  EXPECT_EQ(frame_.payload, std::string(3, '\xFF'));
}

TEST_F(media_frame_test, media_fields_in_any_order) {
  auto b64 = crypto::base64_encode("abc");
  ASSERT_EQ(parse(R"({"media":{"payload":")" + b64
                  + R"("},"streamSid":"MZ7","event":"media"})"),
            media_error::ok);
  EXPECT_EQ(frame_.event, media_event::media);
  EXPECT_EQ(frame_.stream_sid, "MZ7");
  EXPECT_EQ(frame_.payload, "abc");
}

TEST_F(media_frame_test, mark_dtmf_stop) {
  ASSERT_EQ(parse(mark_json), media_error::ok);
  EXPECT_EQ(frame_.event, media_event::mark);
  EXPECT_EQ(frame_.sequence_number, 4u);
  EXPECT_EQ(frame_.mark_name, "my label");
  EXPECT_EQ(frame_.stream_sid, "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");

  ASSERT_EQ(parse(dtmf_json), media_error::ok);
  EXPECT_EQ(frame_.event, media_event::dtmf);
  EXPECT_EQ(frame_.dtmf_digit, "1");
  EXPECT_EQ(frame_.dtmf_track, "inbound_track");
  EXPECT_EQ(frame_.sequence_number, 5u);
  EXPECT_TRUE(frame_.mark_name.empty()); // reset between frames

  ASSERT_EQ(parse(stop_json), media_error::ok);
  EXPECT_EQ(frame_.event, media_event::stop);
  EXPECT_EQ(frame_.call_sid, "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
  EXPECT_EQ(frame_.account_sid, "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
  EXPECT_TRUE(frame_.dtmf_digit.empty());
}

TEST_F(media_frame_test, sequence_number_as_number_is_accepted) {
  auto b64 = crypto::base64_encode(ramp_frame());
  ASSERT_EQ(parse(media_json(b64, "42")), media_error::ok);
  EXPECT_EQ(frame_.sequence_number, 42u);
}

TEST_F(media_frame_test, wrong_types) {
  auto b64 = crypto::base64_encode(ramp_frame());
  EXPECT_EQ(parse(media_json(b64, "true")), media_error::wrong_type);
  EXPECT_EQ(parse(media_json(b64, R"("abc")")), media_error::wrong_type);
  EXPECT_EQ(parse(media_json(b64, R"("")")), media_error::wrong_type);
  EXPECT_EQ(parse(media_json(b64, "-1")), media_error::wrong_type);
  EXPECT_EQ(parse(media_json(b64, "1.5")), media_error::wrong_type);
  EXPECT_EQ(parse(R"({"event":5})"), media_error::wrong_type);
  EXPECT_EQ(parse(R"({"event":"media","streamSid":"MZ1","media":[1]})"),
            media_error::wrong_type);
  EXPECT_EQ(parse(R"({"event":"media","streamSid":"MZ1",)"
                  R"("media":{"payload":12}})"),
            media_error::wrong_type);
  EXPECT_EQ(parse(R"({"event":"media","streamSid":7,)"
                  R"("media":{"payload":""}})"),
            media_error::wrong_type);
  EXPECT_EQ(parse(R"({"event":"mark","streamSid":"MZ1","mark":"x"})"),
            media_error::wrong_type);
  EXPECT_EQ(parse("[1,2]"), media_error::wrong_type);
  EXPECT_EQ(parse(R"("media")"), media_error::wrong_type);
  EXPECT_EQ(parse("null"), media_error::wrong_type);
}

TEST_F(media_frame_test, missing_fields) {
  EXPECT_EQ(parse(R"({"streamSid":"MZ1"})"), media_error::missing_field);
  EXPECT_EQ(parse("{}"), media_error::missing_field);
  EXPECT_EQ(parse(R"({"event":"media","streamSid":"MZ1","media":{}})"),
            media_error::missing_field);
  EXPECT_EQ(parse(R"({"event":"media","streamSid":"MZ1"})"),
            media_error::missing_field);
  EXPECT_EQ(parse(R"({"event":"media","media":{"payload":""}})"),
            media_error::missing_field);
  EXPECT_EQ(parse(R"({"event":"mark","streamSid":"MZ1","mark":{}})"),
            media_error::missing_field);
  EXPECT_EQ(parse(R"({"event":"dtmf","streamSid":"MZ1","dtmf":{}})"),
            media_error::missing_field);
  EXPECT_EQ(parse(R"({"event":"stop"})"), media_error::missing_field);
}

TEST_F(media_frame_test, invalid_json) {
  EXPECT_EQ(parse(""), media_error::invalid_json);
  EXPECT_EQ(parse("   "), media_error::invalid_json);
  EXPECT_EQ(parse("not json"), media_error::invalid_json);
  EXPECT_EQ(parse("nul"), media_error::invalid_json);
  EXPECT_EQ(parse("[1,"), media_error::invalid_json);
  EXPECT_EQ(parse("\"abc"), media_error::invalid_json);
  EXPECT_EQ(parse("{"), media_error::invalid_json);
  EXPECT_EQ(parse(R"({"event":"media",})"), media_error::invalid_json);
  EXPECT_EQ(parse(R"({"event" "media"})"), media_error::invalid_json);
  EXPECT_EQ(parse(R"({'event':'media'})"), media_error::invalid_json);
  EXPECT_EQ(parse(connected_json + " x"), media_error::invalid_json);
  EXPECT_EQ(parse(connected_json + connected_json), media_error::invalid_json);
}

TEST_F(media_frame_test, every_truncation_is_rejected) {
  auto full = media_json(crypto::base64_encode(ramp_frame()));
  ASSERT_EQ(parse(full), media_error::ok);
  for (std::size_t n = 0; n < full.size(); ++n)
    EXPECT_NE(parse(std::string_view(full).substr(0, n)), media_error::ok)
      << "prefix of " << n << " bytes accepted";
  auto start = start_json;
  for (std::size_t n = 0; n < start.size(); ++n)
    EXPECT_NE(parse(std::string_view(start).substr(0, n)), media_error::ok)
      << "prefix of " << n << " bytes accepted";
}

TEST_F(media_frame_test, payload_size_limit) {
  std::string max(media_max_payload, '\x7F');
  ASSERT_EQ(parse(media_json(crypto::base64_encode(max))), media_error::ok);
  EXPECT_EQ(frame_.payload.size(), media_max_payload);
  std::string over(media_max_payload + 1, '\x7F');
  EXPECT_EQ(parse(media_json(crypto::base64_encode(over))),
            media_error::payload_too_large);
  // A frame beyond the frame limit is refused before parsing.
  std::string huge(media_max_frame + 10, 'A');
  EXPECT_EQ(parse(media_json(huge)), media_error::payload_too_large);
}

TEST_F(media_frame_test, bad_base64) {
  EXPECT_EQ(parse(media_json("abc")), media_error::bad_base64);
  EXPECT_EQ(parse(media_json("ab!d")), media_error::bad_base64);
  EXPECT_EQ(parse(media_json("====")), media_error::bad_base64);
  EXPECT_EQ(parse(media_json("a=bc")), media_error::bad_base64);
  EXPECT_EQ(parse(media_json("YWJj YWJj")), media_error::bad_base64);
  EXPECT_EQ(parse(media_json("YQ==YWJj")), media_error::bad_base64);
}

TEST_F(media_frame_test, unknown_event) {
  ASSERT_EQ(parse(R"({"event":"clear","streamSid":"MZ5","x":[1,{"y":2}]})"),
            media_error::ok);
  EXPECT_EQ(frame_.event, media_event::unknown);
  EXPECT_EQ(frame_.event_name, "clear");
  EXPECT_EQ(frame_.stream_sid, "MZ5");
}

TEST_F(media_frame_test, deep_nesting) {
  // (within media_max_frame: 2 x 30000 bytes)
  std::string deep(30000, '[');
  deep += std::string(30000, ']');
  // At the root: valid JSON, but not an object.
  EXPECT_EQ(parse(deep), media_error::wrong_type);
  // Unbalanced.
  EXPECT_EQ(parse(std::string(30000, '[')), media_error::invalid_json);
  EXPECT_EQ(parse(std::string(30000, '[') + std::string(29999, ']')),
            media_error::invalid_json);
  EXPECT_EQ(parse(std::string(20000, '{')), media_error::invalid_json);
  std::string objs;
  for (int i = 0; i < 5000; ++i)
    objs += R"({"a":)";
  objs += "1" + std::string(5000, '}');
  EXPECT_EQ(parse(objs), media_error::missing_field); // no "event"
  // Beyond the frame limit: refused before parsing.
  EXPECT_EQ(parse(std::string(100000, '[')), media_error::payload_too_large);
  // Where a payload is expected.
  std::string s = R"({"event":"media","streamSid":"MZ1","media":{"payload":)";
  s += std::string(5000, '[') + std::string(5000, ']') + "}}";
  EXPECT_EQ(parse(s), media_error::wrong_type);
  // Under an ignored key: skipped, and still well-formed.
  s = R"({"event":"media","streamSid":"MZ1","extra":)";
  s += std::string(5000, '[') + std::string(5000, ']');
  s += R"(,"media":{"payload":"YWJj"}})";
  ASSERT_EQ(parse(s), media_error::ok);
  EXPECT_EQ(frame_.payload, "abc");
  // Under an ignored key but unbalanced.
  s = R"({"event":"media","streamSid":"MZ1","extra":)";
  s += std::string(5000, '[') + std::string(4999, ']');
  s += R"(,"media":{"payload":"YWJj"}})";
  EXPECT_NE(parse(s), media_error::ok);
}

TEST_F(media_frame_test, invalid_utf8_is_rejected) {
  EXPECT_EQ(parse("{\"event\":\"media\",\"streamSid\":\"MZ\xFF\","
                  "\"media\":{\"payload\":\"\"}}"),
            media_error::invalid_json);
  EXPECT_EQ(parse("{\"event\":\"mark\",\"streamSid\":\"MZ1\","
                  "\"mark\":{\"name\":\"\xC3\x28\"}}"),
            media_error::invalid_json);
  // Valid UTF-8 (Hebrew) passes through.
  ASSERT_EQ(parse("{\"event\":\"mark\",\"streamSid\":\"MZ1\","
                  "\"mark\":{\"name\":\"\xD7\xA9\xD7\x9C\"}}"),
            media_error::ok);
  EXPECT_EQ(frame_.mark_name, "\xD7\xA9\xD7\x9C");
}

TEST_F(media_frame_test, random_mutations_never_crash) {
  const std::string seeds[] = {media_json(crypto::base64_encode(ramp_frame())),
                               start_json,
                               mark_json,
                               dtmf_json,
                               stop_json,
                               connected_json};
  std::mt19937 rng(1234);
  const char alphabet[] = "{}[]\":,\\ 0123456789aeE+-.\x80\xFF\x00tfnul";
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = seeds[i % 6];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      auto pos = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[pos] = alphabet[rng() % (sizeof alphabet - 1)];
          break;
        case 1:
          s.erase(pos, 1 + rng() % 8);
          break;
        default:
          s.insert(pos, 1, alphabet[rng() % (sizeof alphabet - 1)]);
      }
    }
    auto r = parse(s);
    ASSERT_LE(static_cast<int>(r), static_cast<int>(media_error::wrong_type));
    ok += r == media_error::ok;
  }
  // Many single edits (e.g. in whitespace or a SID) keep the frame valid.
  EXPECT_GT(ok, 100);
  EXPECT_LT(ok, 20000);
}

TEST_F(media_frame_test, caller_buffer_with_padding) {
  auto text = media_json(crypto::base64_encode(ramp_frame()));
  std::string buf = text;
  buf.resize(text.size() + simdjson::SIMDJSON_PADDING);
  ASSERT_EQ(parser_.parse(buf.data(), text.size(), buf.size(), frame_),
            media_error::ok);
  EXPECT_EQ(frame_.payload, ramp_frame());
  // Too little padding: copied internally, still parsed.
  ASSERT_EQ(parser_.parse(text.data(), text.size(), text.size(), frame_),
            media_error::ok);
  EXPECT_EQ(frame_.payload, ramp_frame());
  ASSERT_EQ(parser_.parse(simdjson::padded_string_view(buf.data(), text.size(),
                                                       buf.size()),
                          frame_),
            media_error::ok);
  EXPECT_EQ(frame_.chunk, 2u);
  EXPECT_EQ(parser_.parse(nullptr, 0, 0, frame_), media_error::invalid_json);
}

TEST_F(media_frame_test, no_reallocation_after_warm_up) {
  auto a = media_json(crypto::base64_encode(ramp_frame()));
  std::string other(160, '\x55');
  auto b = media_json(crypto::base64_encode(other));
  ASSERT_EQ(parse(a), media_error::ok);
  const char* payload_buf = frame_.payload.data();
  const char* sid_buf = frame_.stream_sid.data();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(parse(i % 2 ? a : b), media_error::ok);
    ASSERT_EQ(frame_.payload.data(), payload_buf);
    ASSERT_EQ(frame_.stream_sid.data(), sid_buf);
  }
  EXPECT_EQ(frame_.payload, ramp_frame());
}

// -- outbound ------------------------------------------------------------

TEST(media_out_test, media_message_exact_text) {
  std::string out;
  append_media_json(out, "MZ1", "abc");
  EXPECT_EQ(
    out, R"({"event":"media","streamSid":"MZ1","media":{"payload":"YWJj"}})");
}

TEST(media_out_test, mark_and_clear_exact_text) {
  std::string out;
  append_mark_json(out, "MZ1", "u1");
  EXPECT_EQ(out, R"({"event":"mark","streamSid":"MZ1","mark":{"name":"u1"}})");
  out.clear();
  append_clear_json(out, "MZ1");
  EXPECT_EQ(out, R"({"event":"clear","streamSid":"MZ1"})");
}

TEST(media_out_test, appends_without_clearing) {
  std::string out = "X";
  append_clear_json(out, "A");
  append_clear_json(out, "B");
  EXPECT_EQ(out, R"(X{"event":"clear","streamSid":"A"})"
                 R"({"event":"clear","streamSid":"B"})");
}

TEST(media_out_test, escapes_strings) {
  std::string out;
  append_json_string(out, "a\"b\\c\n\x01/");
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001/")");
  out.clear();
  append_json_string(out, "\xD7\xA9"); // valid UTF-8 kept
  EXPECT_EQ(out, "\"\xD7\xA9\"");
  out.clear();
  append_json_string(out, "a\xFFz"); // invalid UTF-8 replaced
  EXPECT_EQ(out, "\"a?z\"");
}

TEST(media_out_test, media_round_trips_through_parser) {
  media_frame_parser parser;
  media_frame frame;
  std::string out;
  for (int size : {0, 1, 2, 3, 160, 400, 4096}) {
    std::string audio(static_cast<std::size_t>(size), '\0');
    for (int i = 0; i < size; ++i)
      audio[i] = static_cast<char>((i * 37) & 0xFF);
    out.clear();
    append_media_json(out, "MZabc", audio);
    ASSERT_EQ(parser.parse_copy(out, frame), media_error::ok) << out;
    EXPECT_EQ(frame.event, media_event::media);
    EXPECT_EQ(frame.stream_sid, "MZabc");
    EXPECT_EQ(frame.payload, audio);
  }
}

TEST(media_out_test, mark_and_clear_round_trip_through_parser) {
  media_frame_parser parser;
  media_frame frame;
  std::string out;
  const std::string name = "utt \"7\" \\ \n\t \xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D";
  append_mark_json(out, "MZ\"q\"", name);
  ASSERT_EQ(parser.parse_copy(out, frame), media_error::ok) << out;
  EXPECT_EQ(frame.event, media_event::mark);
  EXPECT_EQ(frame.stream_sid, "MZ\"q\"");
  EXPECT_EQ(frame.mark_name, name);

  out.clear();
  append_mark_json(out, "MZ1", "bad\xFF");
  ASSERT_EQ(parser.parse_copy(out, frame), media_error::ok) << out;
  EXPECT_EQ(frame.mark_name, "bad?");

  out.clear();
  append_clear_json(out, "MZ1");
  ASSERT_EQ(parser.parse_copy(out, frame), media_error::ok);
  EXPECT_EQ(frame.event, media_event::unknown);
  EXPECT_EQ(frame.event_name, "clear");
  EXPECT_EQ(frame.stream_sid, "MZ1");
}

TEST(media_out_test, names_for_logs) {
  EXPECT_EQ(to_string(media_error::bad_base64), "bad_base64");
  EXPECT_EQ(to_string(media_event::dtmf), "dtmf");
}

} // namespace
} // namespace al
