// core/: configuration (SPEC §1), .env parsing, form and JSON bodies,
// crypto helpers and mu-law. Pure functions, no I/O.
#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/json.hpp"
#include "core/mulaw.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace al {
namespace {

using env_map = std::map<std::string, std::string>;

config_result load(const env_map& env) {
  return load_config(
    [&env](const std::string& k) -> std::optional<std::string> {
      if (auto i = env.find(k); i != env.end())
        return i->second;
      return std::nullopt;
    });
}

config loaded(const env_map& env) {
  auto r = load(env);
  if (auto err = std::get_if<std::string>(&r))
    ADD_FAILURE() << "unexpected config error: " << *err;
  return std::holds_alternative<config>(r) ? std::get<config>(r) : config{};
}

/// The error for `env`; empty (plus a test failure) when it loaded.
std::string error_of(const env_map& env) {
  auto r = load(env);
  if (auto err = std::get_if<std::string>(&r))
    return *err;
  ADD_FAILURE() << "expected a config error";
  return {};
}

// -- load_config --------------------------------------------------------------

TEST(config, defaults_follow_spec) {
  auto c = loaded({});
  EXPECT_EQ(c.port, 5000);
  EXPECT_EQ(c.public_base_url, "http://127.0.0.1:5000");
  EXPECT_EQ(c.database_url, "");
  EXPECT_EQ(c.db_pool_size, 4);
  EXPECT_EQ(c.twilio_account_sid, "");
  EXPECT_EQ(c.twilio_auth_token, "");
  EXPECT_EQ(c.twilio_api_base, "https://api.twilio.com");
  EXPECT_EQ(c.whatsapp_default_provider, "twilio");
  EXPECT_EQ(c.openai_api_key, "");
  EXPECT_FALSE(c.payments_enabled);
  EXPECT_EQ(c.paypal_api_base, "https://api-m.sandbox.paypal.com");
  EXPECT_EQ(c.admin_token, "");
  EXPECT_EQ(c.deploy_id, "");
  EXPECT_EQ(c.ws_ping_interval, std::chrono::seconds(25));
  EXPECT_EQ(c.ws_idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.recordings_dir, "./var/recordings");
  EXPECT_EQ(c.max_live_calls, 2000);
}

TEST(config, values_are_read) {
  auto c = loaded({{"PORT", "8080"},
                   {"DATABASE_URL", "postgresql://u@h/db"},
                   {"DB_POOL_SIZE", "9"},
                   {"TWILIO_ACCOUNT_SID", "AC1"},
                   {"TWILIO_AUTH_TOKEN", "tok"},
                   {"WHATSAPP_DEFAULT_PROVIDER", "meta"},
                   {"PAYMENTS_ENABLED", "TRUE"},
                   {"ADMIN_TOKEN", "adm"},
                   {"DEPLOY_ID", "d-42"},
                   {"WS_PING_INTERVAL_S", "1"},
                   {"WS_IDLE_TIMEOUT_S", "2"},
                   {"LOG_FORMAT", "json"},
                   {"RECORDINGS_DIR", "/tmp/rec"},
                   {"MAX_LIVE_CALLS", "0"}});
  EXPECT_EQ(c.port, 8080);
  // The default public URL follows PORT.
  EXPECT_EQ(c.public_base_url, "http://127.0.0.1:8080");
  EXPECT_EQ(c.database_url, "postgresql://u@h/db");
  EXPECT_EQ(c.db_pool_size, 9);
  EXPECT_EQ(c.twilio_account_sid, "AC1");
  EXPECT_EQ(c.twilio_auth_token, "tok");
  EXPECT_EQ(c.whatsapp_default_provider, "meta");
  EXPECT_TRUE(c.payments_enabled);
  EXPECT_EQ(c.admin_token, "adm");
  EXPECT_EQ(c.deploy_id, "d-42");
  EXPECT_EQ(c.ws_ping_interval, std::chrono::seconds(1));
  EXPECT_EQ(c.ws_idle_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.recordings_dir, "/tmp/rec");
  EXPECT_EQ(c.max_live_calls, 0);
  EXPECT_FALSE(loaded({{"PAYMENTS_ENABLED", "false"}}).payments_enabled);
  EXPECT_FALSE(loaded({{"PAYMENTS_ENABLED", "0"}}).payments_enabled);
  EXPECT_TRUE(loaded({{"PAYMENTS_ENABLED", "1"}}).payments_enabled);
}

TEST(config, public_base_url_loses_trailing_slashes) {
  EXPECT_EQ(loaded({{"PUBLIC_BASE_URL", "https://al.example.com/"},
                    {"SECRET_KEY", "0123456789abcdef0123456789abcdef"}})
              .public_base_url,
            "https://al.example.com");
  EXPECT_EQ(loaded({{"PUBLIC_BASE_URL", "https://al.example.com//"},
                    {"SECRET_KEY", "0123456789abcdef0123456789abcdef"}})
              .public_base_url,
            "https://al.example.com");
  EXPECT_EQ(
    loaded({{"PUBLIC_BASE_URL", "http://10.0.0.1:8000"}}).public_base_url,
    "http://10.0.0.1:8000");
}

TEST(config, security_settings) {
  // https needs a SECRET_KEY of at least 32 characters (it encrypts tenant
  // secrets); plain http (development) does not.
  EXPECT_NE(error_of({{"PUBLIC_BASE_URL", "https://al.example.com"}})
              .find("SECRET_KEY is required"),
            std::string::npos);
  EXPECT_NE(error_of({{"SECRET_KEY", "short"}}).find("at least 32"),
            std::string::npos);
  EXPECT_NE(error_of({{"SECRET_KEY", "0123456789abcdef0123456789abcdef"},
                      {"SECRET_KEYS_PREVIOUS", "old"}})
              .find("SECRET_KEYS_PREVIOUS"),
            std::string::npos);
  auto c
    = loaded({{"PUBLIC_BASE_URL", "https://al.example.com"},
              {"SECRET_KEY", "0123456789abcdef0123456789abcdef"},
              {"SECRET_KEYS_PREVIOUS", " 1123456789abcdef0123456789abcdef ,,"
                                       "2123456789abcdef0123456789abcdef"},
              {"METRICS_PORT", "9464"},
              {"METRICS_TOKEN", "m"},
              {"TRUSTED_PROXIES", "10.0.0.2"},
              {"AUTH_FAIL_BLOCK_AFTER", "0"},
              {"AUDIT_RETENTION_DAYS", "90"},
              {"AUDIO_RETENTION_DAYS", "0"}});
  ASSERT_EQ(c.secret_keys_previous.size(), 2u);
  EXPECT_EQ(c.secret_keys_previous[0], "1123456789abcdef0123456789abcdef");
  EXPECT_EQ(c.metrics_port, std::optional<std::uint16_t>{9464});
  EXPECT_EQ(c.metrics_token, "m");
  EXPECT_EQ(c.trusted_proxies, std::vector<std::string>{"10.0.0.2"});
  EXPECT_EQ(c.auth_fail_block_after, 0);
  EXPECT_EQ(c.audit_retention_days, 90);
  EXPECT_EQ(c.audio_retention_days, 0);
  auto d = loaded({});
  EXPECT_FALSE(d.metrics_port);
  EXPECT_EQ(d.trusted_proxies.size(), 2u);
  EXPECT_EQ(d.auth_fail_block_after, 20);
  EXPECT_EQ(d.audio_retention_days, 365);
  EXPECT_NE(
    error_of({{"AUDIO_RETENTION_DAYS", "-1"}}).find("AUDIO_RETENTION_DAYS"),
    std::string::npos);
  EXPECT_EQ(loaded({{"METRICS_PORT", "0"}}).metrics_port,
            std::optional<std::uint16_t>{0});
  EXPECT_NE(error_of({{"METRICS_PORT", "70000"}}).find("METRICS_PORT"),
            std::string::npos);
}

// deploy/config.example.env names every variable load_config reads (the
// names are taken from core/config.cpp itself, so a new one cannot be
// forgotten).
TEST(config, the_example_env_lists_every_variable) {
  auto slurp = [](const std::string& path) {
    std::ifstream in{path};
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  auto source = slurp(AL_SOURCE_DIR "/core/config.cpp");
  auto example = slurp(AL_SOURCE_DIR "/deploy/config.example.env");
  ASSERT_FALSE(source.empty());
  ASSERT_FALSE(example.empty());
  std::regex read{R"re((?:r\.[a-z_]+|lookup)\("([A-Z][A-Z0-9_]+)")re"};
  int names = 0;
  for (std::sregex_iterator i{source.begin(), source.end(), read}, end;
       i != end; ++i) {
    auto name = (*i)[1].str();
    ++names;
    std::regex line{"(^|\n)#?" + name + "="};
    EXPECT_TRUE(std::regex_search(example, line))
      << name << " is missing from deploy/config.example.env";
  }
  EXPECT_GT(names, 50);
}

TEST(config, the_receptionist_settings_of_spec_7) {
  auto c = loaded({});
  EXPECT_EQ(c.voice_engine, "auto");
  EXPECT_EQ(c.silence_reprompt, std::chrono::seconds(6));
  EXPECT_EQ(c.say_voice, "Google.he-IL-Standard-A");
  EXPECT_EQ(c.openai_api_base, "");
  c = loaded({{"VOICE_ENGINE", "local"},
              {"SILENCE_REPROMPT_S", "9"},
              {"SAY_VOICE", "Polly.Hila"},
              {"OPENAI_API_BASE", "http://127.0.0.1:9/v1"},
              {"OPENAI_VOICE", "coral"}});
  EXPECT_EQ(c.voice_engine, "local");
  EXPECT_EQ(c.silence_reprompt, std::chrono::seconds(9));
  EXPECT_EQ(c.say_voice, "Polly.Hila");
  EXPECT_EQ(c.openai_api_base, "http://127.0.0.1:9/v1");
  EXPECT_EQ(c.openai_voice, "coral");
  EXPECT_NE(error_of({{"VOICE_ENGINE", "robot"}}).find("VOICE_ENGINE"),
            std::string::npos);
  EXPECT_NE(error_of({{"SILENCE_REPROMPT_S", "0"}}).find("SILENCE_REPROMPT_S"),
            std::string::npos);
  EXPECT_NE(error_of({{"OPENAI_API_BASE", "ftp://x"}}).find("OPENAI_API_BASE"),
            std::string::npos);
}

TEST(config, which_engine_answers) {
  // Without a key, always the embedded engine.
  EXPECT_FALSE(engine_wants_openai(false, "auto", "openai"));
  // A key alone: auto means the AI.
  EXPECT_TRUE(engine_wants_openai(true, "auto", "auto"));
  // VOICE_ENGINE=local keeps auto businesses local; a business's own
  // choice wins either way.
  EXPECT_FALSE(engine_wants_openai(true, "local", "auto"));
  EXPECT_TRUE(engine_wants_openai(true, "local", "openai"));
  EXPECT_FALSE(engine_wants_openai(true, "openai", "local"));
  EXPECT_TRUE(engine_wants_openai(true, "openai", "auto"));
}

TEST(config, each_malformed_value_names_its_variable) {
  struct bad {
    const char* name;
    const char* value;
  };
  const bad cases[] = {
    {"PORT", "abc"},
    {"PORT", "70000"},
    {"PORT", "-1"},
    {"PORT", ""},
    {"PORT", " 80"},
    {"DB_POOL_SIZE", "0"},
    {"DB_POOL_SIZE", "x"},
    {"WS_PING_INTERVAL_S", "-1"},
    {"WS_PING_INTERVAL_S", "0"},
    {"WS_IDLE_TIMEOUT_S", "1.5"},
    {"PAYMENTS_ENABLED", "maybe"},
    {"LOG_FORMAT", "xml"},
    {"WHATSAPP_DEFAULT_PROVIDER", "telegram"},
    {"PUBLIC_BASE_URL", "ftp://x"},
    {"PUBLIC_BASE_URL", "al.example.com"},
    {"PUBLIC_BASE_URL", "https://"},
    {"PUBLIC_BASE_URL", "https://a b"},
    {"TWILIO_API_BASE", "api.twilio.com"},
    {"MAX_LIVE_CALLS", "many"},
    {"RECORDINGS_DIR", ""},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(std::string{c.name} + "=" + c.value);
    auto err = error_of({{c.name, c.value}});
    EXPECT_NE(err.find(c.name), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
  }
}

TEST(config, bounds_are_inclusive) {
  EXPECT_EQ(loaded({{"PORT", "65535"}}).port, 65535);
  EXPECT_EQ(loaded({{"PORT", "0"}}).port, 0);
  EXPECT_EQ(loaded({{"DB_POOL_SIZE", "1"}}).db_pool_size, 1);
}

// -- parse_dotenv -------------------------------------------------------------

TEST(dotenv, comments_quotes_and_export) {
  auto r = parse_dotenv("# a comment\n"
                        "   # an indented comment\n"
                        "\n"
                        "export PORT=6000\n"
                        "ADMIN_TOKEN=\"a b # not a comment\"\n"
                        "SINGLE='x=y'\n"
                        "PLAIN=value # trailing comment\n"
                        "SPACED = padded  \n"
                        "EMPTY=\n"
                        "CRLF=windows\r\n"
                        "URL=postgresql://u@h:5432/db?x=1\n");
  using env_file = std::map<std::string, std::string>;
  ASSERT_TRUE(std::holds_alternative<env_file>(r)) << std::get<std::string>(r);
  auto& m = std::get<0>(r);
  EXPECT_EQ(m.size(), 8u);
  EXPECT_EQ(m.at("PORT"), "6000");
  EXPECT_EQ(m.at("ADMIN_TOKEN"), "a b # not a comment");
  EXPECT_EQ(m.at("SINGLE"), "x=y");
  EXPECT_EQ(m.at("PLAIN"), "value");
  EXPECT_EQ(m.at("SPACED"), "padded");
  EXPECT_EQ(m.at("EMPTY"), "");
  EXPECT_EQ(m.at("CRLF"), "windows");
  EXPECT_EQ(m.at("URL"), "postgresql://u@h:5432/db?x=1");
}

TEST(dotenv, malformed_lines_are_named) {
  auto no_eq = parse_dotenv("A=1\nJUST_A_KEY\n");
  ASSERT_TRUE(std::holds_alternative<std::string>(no_eq));
  EXPECT_NE(std::get<std::string>(no_eq).find("line 2"), std::string::npos)
    << std::get<std::string>(no_eq);

  auto bad_key = parse_dotenv("BAD-KEY=1\n");
  ASSERT_TRUE(std::holds_alternative<std::string>(bad_key));
  EXPECT_NE(std::get<std::string>(bad_key).find("line 1"), std::string::npos);

  auto no_key = parse_dotenv("=value\n");
  ASSERT_TRUE(std::holds_alternative<std::string>(no_key));

  auto open_quote = parse_dotenv("# x\n\nSECRET=\"unterminated\n");
  ASSERT_TRUE(std::holds_alternative<std::string>(open_quote));
  auto& err = std::get<std::string>(open_quote);
  EXPECT_NE(err.find("line 3"), std::string::npos) << err;
  EXPECT_NE(err.find("SECRET"), std::string::npos) << err;
}

TEST(dotenv, empty_file_is_empty) {
  auto r = parse_dotenv("");
  using env_file = std::map<std::string, std::string>;
  ASSERT_TRUE(std::holds_alternative<env_file>(r));
  EXPECT_TRUE(std::get<0>(r).empty());
}

TEST(dotenv, real_environment_wins_over_file) {
  auto path = "/tmp/al_config_test_" + std::to_string(::getpid()) + ".env";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("AL_CFG_TEST_A=from_file\nAL_CFG_TEST_B=file_only\n", f);
    std::fclose(f);
  }
  ::setenv("AL_CFG_TEST_A", "from_env", 1);
  auto r = process_env(path);
  std::remove(path.c_str());
  ::unsetenv("AL_CFG_TEST_A");
  ASSERT_TRUE(std::holds_alternative<env_lookup>(r));
  auto lookup = std::get<env_lookup>(r);
  ::setenv("AL_CFG_TEST_A", "from_env", 1);
  EXPECT_EQ(lookup("AL_CFG_TEST_A").value_or(""), "from_env");
  ::unsetenv("AL_CFG_TEST_A");
  EXPECT_EQ(lookup("AL_CFG_TEST_A").value_or(""), "from_file");
  EXPECT_EQ(lookup("AL_CFG_TEST_B").value_or(""), "file_only");
  EXPECT_FALSE(lookup("AL_CFG_TEST_NONE").has_value());
}

// -- form ---------------------------------------------------------------------

TEST(form, plus_is_space_and_percent_decodes) {
  auto f = parse_form("a=1&b=two+words&c=%41%42%2B&d=%D7%A9%D7%9C&e+f=g");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->value_or("a"), "1");
  EXPECT_EQ(f->value_or("b"), "two words");
  EXPECT_EQ(f->value_or("c"), "AB+");
  EXPECT_EQ(f->value_or("d"), "\xD7\xA9\xD7\x9C"); // Hebrew "shin lamed"
  EXPECT_EQ(f->value_or("e f"), "g");
  EXPECT_FALSE(f->contains("z"));
  EXPECT_EQ(f->value_or("z", "fallback"), "fallback");
}

TEST(form, repeated_keys_keep_order) {
  auto f = parse_form("x=1&y=2&x=3");
  ASSERT_TRUE(f);
  ASSERT_EQ(f->items().size(), 3u);
  EXPECT_EQ(f->items()[0], (form_params::value_type{"x", "1"}));
  EXPECT_EQ(f->items()[1], (form_params::value_type{"y", "2"}));
  EXPECT_EQ(f->items()[2], (form_params::value_type{"x", "3"}));
  EXPECT_EQ(f->value_or("x"), "1"); // the first wins
}

TEST(form, malformed_percent_is_refused) {
  EXPECT_FALSE(parse_form("a=%zz"));
  EXPECT_FALSE(parse_form("a=%4"));
  EXPECT_FALSE(parse_form("%g1=b"));
  EXPECT_FALSE(parse_form("a=1&b=%"));
}

TEST(form, empty_and_odd_shapes) {
  auto empty = parse_form("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto bare = parse_form("flag&a=");
  ASSERT_TRUE(bare);
  ASSERT_EQ(bare->items().size(), 2u);
  EXPECT_TRUE(bare->contains("flag"));
  EXPECT_EQ(bare->value_or("flag", "x"), "");
  EXPECT_EQ(bare->value_or("a", "x"), "");
  auto gaps = parse_form("a=1&&b=2");
  ASSERT_TRUE(gaps);
  EXPECT_EQ(gaps->items().size(), 2u);
}

// Regression (bench/fuzz.sh, fuzz_form): Boost 1.81's parse_query measured
// its input with strlen, so a view that is not NUL-terminated was read past
// its end ("b=2#frag" viewed as "b=2" gave b = "2#frag").
TEST(form, reads_only_the_view_it_is_given) {
  std::string whole = "a=1&b=2#frag&c=3";
  auto f = parse_form(std::string_view{whole}.substr(0, 7));
  ASSERT_TRUE(f);
  ASSERT_EQ(f->items().size(), 2u);
  EXPECT_EQ(f->value_or("b"), "2");
  EXPECT_FALSE(f->contains("c"));
  // Characters outside an RFC 3986 query are still refused.
  EXPECT_FALSE(parse_form("a=1 2"));
  EXPECT_FALSE(parse_form("a=\xD7\xA9"));
  EXPECT_FALSE(parse_form(std::string_view{"a=1\0b", 5}));
  EXPECT_FALSE(parse_form("a=1#x"));
}

TEST(form, text_form_refuses_nul_and_invalid_utf8) {
  EXPECT_TRUE(text_form(*parse_form("a=%D7%A9&b=plain&c=")));
  EXPECT_FALSE(text_form(*parse_form("a=x%00y")));
  EXPECT_FALSE(text_form(*parse_form("a=%FF")));
  EXPECT_FALSE(text_form(*parse_form("%C3%28=v")));
  EXPECT_FALSE(text_form(*parse_form("a=%ED%A0%80"))); // a surrogate
}

TEST(form, encode_round_trips) {
  std::vector<form_params::value_type> items{{"Body",
                                              "שלום & welcome = 100% +1"},
                                             {"To", "whatsapp:+972501234567"},
                                             {"empty", ""},
                                             {"Body", "second"}};
  auto text = encode_form(items);
  EXPECT_EQ(text.find(' '), std::string::npos) << text;
  auto back = parse_form(text);
  ASSERT_TRUE(back) << text;
  EXPECT_EQ(back->items(), items);
}

// -- json ---------------------------------------------------------------------

TEST(json, missing_null_wrong_type_ok) {
  json_doc doc;
  ASSERT_TRUE(doc.parse(R"({"s":"x","n":null,"i":5,"f":1.5,"b":true,)"
                        R"("o":{"k":1},"a":[1,2],"big":18446744073709551615})"))
    << doc.error();
  auto o = doc.object();
  ASSERT_TRUE(o);

  auto s = get_string(*o, "s");
  EXPECT_EQ(s.state, field_state::ok);
  EXPECT_EQ(s.value, "x");
  EXPECT_TRUE(s.present());
  EXPECT_EQ(get_string(*o, "nope").state, field_state::missing);
  EXPECT_FALSE(get_string(*o, "nope").present());
  EXPECT_EQ(get_string(*o, "n").state, field_state::null);
  EXPECT_FALSE(get_string(*o, "n").present());
  EXPECT_EQ(get_string(*o, "i").state, field_state::wrong_type);
  EXPECT_TRUE(get_string(*o, "i").present());

  auto i = get_int(*o, "i");
  EXPECT_TRUE(i.ok());
  EXPECT_EQ(i.value, 5);
  EXPECT_EQ(get_int(*o, "s").state, field_state::wrong_type);
  EXPECT_EQ(get_int(*o, "f").state, field_state::wrong_type);
  EXPECT_EQ(get_int(*o, "big").state, field_state::wrong_type);
  EXPECT_EQ(get_int(*o, "n").state, field_state::null);

  EXPECT_TRUE(get_bool(*o, "b").ok());
  EXPECT_TRUE(get_bool(*o, "b").value);
  EXPECT_EQ(get_bool(*o, "i").state, field_state::wrong_type);

  EXPECT_TRUE(get_object(*o, "o").ok());
  EXPECT_EQ(get_object(*o, "a").state, field_state::wrong_type);
  EXPECT_TRUE(get_array(*o, "a").ok());
  EXPECT_EQ(get_array(*o, "o").state, field_state::wrong_type);
  EXPECT_EQ(get_array(*o, "missing").state, field_state::missing);
}

TEST(json, non_object_root_and_bad_text) {
  json_doc doc;
  ASSERT_TRUE(doc.parse("[1,2]"));
  EXPECT_FALSE(doc.object());
  EXPECT_FALSE(doc.parse(""));
  EXPECT_FALSE(doc.error().empty());
  EXPECT_FALSE(doc.parse("{\"a\":"));
  EXPECT_FALSE(doc.parse("{'a':1}"));
  EXPECT_FALSE(doc.parse("{\"a\":1} trailing"));
  // The same document object parses again after failures.
  ASSERT_TRUE(doc.parse(R"({"a":"b"})"));
  EXPECT_EQ(get_string(*doc.object(), "a").value, "b");
}

std::string nested_arrays(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[')
         + std::string(static_cast<std::size_t>(depth), ']');
}

TEST(json, deep_nesting_is_an_error_not_a_crash) {
  json_doc doc;
  EXPECT_TRUE(doc.parse(nested_arrays(32))) << doc.error();
  EXPECT_FALSE(doc.parse(nested_arrays(json_max_depth + 1)));
  EXPECT_FALSE(doc.error().empty());
  EXPECT_FALSE(doc.parse(nested_arrays(100000)));
  std::string objs;
  for (int i = 0; i < 200; ++i)
    objs += "{\"a\":";
  objs += "1";
  objs += std::string(200, '}');
  EXPECT_FALSE(doc.parse(objs));
}

TEST(json, invalid_utf8_is_an_error) {
  json_doc doc;
  EXPECT_FALSE(doc.parse("{\"a\":\"\xff\"}"));
  EXPECT_FALSE(doc.parse("{\"a\":\"\xc3\"}"));         // truncated sequence
  EXPECT_FALSE(doc.parse("{\"a\":\"\xed\xa0\x80\"}")); // surrogate
  EXPECT_TRUE(doc.parse("{\"a\":\"\xd7\xa9\"}"));      // valid Hebrew
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("ab\xc0\xaf")); // overlong '/'
  EXPECT_TRUE(valid_utf8("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"));
  EXPECT_TRUE(valid_utf8(""));
}

TEST(json, huge_strings) {
  json_doc doc;
  std::string big(900 * 1024, 'x');
  ASSERT_TRUE(doc.parse("{\"s\":\"" + big + "\"}")) << doc.error();
  EXPECT_EQ(get_string(*doc.object(), "s").value.size(), big.size());
  // A small document after a big one (the parser is re-sized).
  ASSERT_TRUE(doc.parse(R"({"s":"y"})"));
  EXPECT_EQ(get_string(*doc.object(), "s").value, "y");
  // Over the body limit: refused before parsing.
  std::string too_big(json_max_bytes + 1, ' ');
  too_big.front() = '{';
  too_big.back() = '}';
  EXPECT_FALSE(doc.parse(too_big));
  EXPECT_NE(doc.error().find("too large"), std::string::npos) << doc.error();
}

TEST(json, error_body_is_escaped) {
  auto text = json_error("bad \"quote\" \\ and \n newline");
  json_doc doc;
  ASSERT_TRUE(doc.parse(text)) << text;
  auto o = *doc.object();
  EXPECT_EQ(get_bool(o, "success").state, field_state::ok);
  EXPECT_FALSE(get_bool(o, "success").value);
  EXPECT_EQ(get_string(o, "error").value, "bad \"quote\" \\ and \n newline");
}

// -- crypto -------------------------------------------------------------------

std::string unhex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(crypto, base64_rfc4648_vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},
                                                   {"f", "Zg=="},
                                                   {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="},
                                                   {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (auto& [plain, enc] : v) {
    EXPECT_EQ(crypto::base64_encode(plain), enc);
    EXPECT_EQ(crypto::base64_decode(enc).value_or("<invalid>"), plain);
  }
}

TEST(crypto, base64_round_trips_binary) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all.push_back(static_cast<char>(i));
  EXPECT_EQ(crypto::base64_decode(crypto::base64_encode(all)).value_or(""),
            all);
  std::mt19937 rng{42};
  for (std::size_t n = 0; n < 70; ++n) {
    std::string s(n, '\0');
    for (auto& c : s)
      c = static_cast<char>(rng());
    auto enc = crypto::base64_encode(s);
    EXPECT_EQ(enc.size(), (n + 2) / 3 * 4);
    std::string appended = "prefix";
    crypto::base64_encode_append(s, appended);
    EXPECT_EQ(appended, "prefix" + enc);
    std::string out = "garbage";
    ASSERT_TRUE(crypto::base64_decode_into(enc, out));
    EXPECT_EQ(out, s);
  }
}

TEST(crypto, base64_rejects_invalid_input) {
  for (const char* bad : {"Zg=", "Z", "Zg=a", "Z===", "====", "Zm9v!A==",
                          "Zg==Zg==", "Zm9v\n", " Zm9v", "Zm9-", "Zm9_"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(crypto::base64_decode(bad));
    std::string out;
    EXPECT_FALSE(crypto::base64_decode_into(bad, out));
  }
}

TEST(crypto, base64url_has_no_padding_or_unsafe_chars) {
  EXPECT_EQ(crypto::base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(crypto::base64url_encode("f"), "Zg");
  auto t = crypto::random_token(32);
  EXPECT_EQ(t.size(), 43u);
  EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                "qrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_NE(t, crypto::random_token(32));
}

TEST(crypto, hmac_sha1_rfc2202) {
  EXPECT_EQ(
    crypto::to_hex(crypto::hmac_sha1(std::string(20, '\x0b'), "Hi There")),
    "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(
    crypto::to_hex(crypto::hmac_sha1("Jefe", "what do ya want for nothing?")),
    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(crypto::to_hex(crypto::hmac_sha1(
              std::string(80, '\xaa'),
              "Test Using Larger Than Block-Size Key - Hash Key First")),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

TEST(crypto, hmac_sha256_rfc4231) {
  EXPECT_EQ(
    crypto::to_hex(crypto::hmac_sha256(std::string(20, '\x0b'), "Hi There")),
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(
    crypto::to_hex(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(crypto::to_hex(crypto::hmac_sha256(
              std::string(131, '\xaa'),
              "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(crypto::hmac_sha256(unhex("0102"), "x").size(), 32u);
}

TEST(crypto, sha256_and_hex) {
  EXPECT_EQ(crypto::to_hex(crypto::sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(crypto::to_hex(crypto::sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(crypto::to_hex(std::string{"\x00\x0f\xf0\xff", 4}), "000ff0ff");
}

TEST(crypto, constant_time_equal) {
  EXPECT_TRUE(crypto::constant_time_equal("", ""));
  EXPECT_TRUE(crypto::constant_time_equal("secret", "secret"));
  EXPECT_FALSE(crypto::constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(crypto::constant_time_equal("secret", "secret "));
  EXPECT_FALSE(crypto::constant_time_equal("", "x"));
  EXPECT_TRUE(crypto::constant_time_equal(std::string{"a\0b", 3},
                                          std::string{"a\0b", 3}));
  EXPECT_FALSE(crypto::constant_time_equal(std::string{"a\0b", 3},
                                           std::string{"a\0c", 3}));
}

// -- mu-law -------------------------------------------------------------------

TEST(mulaw, silence_byte) {
  EXPECT_EQ(mulaw::encode(std::int16_t{0}), mulaw::silence);
  EXPECT_EQ(mulaw::decode(mulaw::silence), 0);
  std::string frame(mulaw::frame_bytes, static_cast<char>(mulaw::silence));
  EXPECT_EQ(mulaw::mean_abs(frame), 0u);
  EXPECT_EQ(mulaw::mean_abs(""), 0u);
}

TEST(mulaw, round_trip_error_is_bounded) {
  // G.711 quantisation: below the clip level the error is at most half a
  // step of the segment, i.e. |x| / 32 + 8 is a safe bound; above it, the
  // largest code (32124) is the answer.
  for (int x = -32768; x <= 32767; ++x) {
    auto y = mulaw::decode(mulaw::encode(static_cast<std::int16_t>(x)));
    auto err = std::abs(y - x);
    auto bound = std::abs(x) <= 32635 ? std::abs(x) / 32 + 8 : 700;
    ASSERT_LE(err, bound) << "x=" << x << " y=" << y;
    if (std::abs(x) >= 8) { // tiny values may decode to 0
      ASSERT_EQ(y < 0, x < 0) << "sign of x=" << x;
    }
  }
}

TEST(mulaw, every_code_but_negative_zero_is_stable) {
  for (int b = 0; b < 256; ++b) {
    if (b == 0x7F)
      continue; // -0 decodes to 0, which encodes as 0xFF
    auto code = static_cast<std::uint8_t>(b);
    EXPECT_EQ(mulaw::encode(mulaw::decode(code)), code) << "b=" << b;
  }
  EXPECT_EQ(mulaw::decode(0x7F), 0);
  EXPECT_EQ(mulaw::decode(0x00), -32124);
  EXPECT_EQ(mulaw::decode(0x80), 32124);
}

TEST(mulaw, buffers_and_energy) {
  std::vector<std::int16_t> pcm(mulaw::frame_bytes);
  for (std::size_t i = 0; i < pcm.size(); ++i)
    pcm[i] = static_cast<std::int16_t>(i % 2 ? 8000 : -8000);
  auto bytes = mulaw::encode(pcm.data(), pcm.size());
  ASSERT_EQ(bytes.size(), mulaw::frame_bytes);
  std::vector<std::int16_t> back{1, 2};
  mulaw::decode(bytes, back);
  ASSERT_EQ(back.size(), mulaw::frame_bytes + 2); // appended
  EXPECT_EQ(back[0], 1);
  for (std::size_t i = 0; i < pcm.size(); ++i)
    EXPECT_LE(std::abs(back[i + 2] - pcm[i]), 8000 / 32 + 8);
  auto energy = mulaw::mean_abs(bytes);
  EXPECT_GT(energy, 7500u);
  EXPECT_LT(energy, 8500u);
}

} // namespace
} // namespace al
