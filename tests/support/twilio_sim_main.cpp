// al-twilio-sim: plays one phone call the way Twilio does, against a running
// server, and checks what a caller would hear. Used by deploy/smoke.sh.
//
//   al-twilio-sim --port 5000 --auth-token T --public-base
//   http://127.0.0.1:5000
//
// Steps: signed POST /webhook/incoming_call -> TwiML (<Connect><Stream>, no
// <Play>) -> WebSocket offering audio.twilio.com -> connected/start with the
// TwiML's parameters -> first media frame (timed) -> marks echoed, DTMF 1, a
// spoken answer -> goodbye -> the server ends the stream -> signed
// <Connect action> -> <Hangup/>. Prints PASS/FAIL lines; exit 0 when all hold.
#include "core/form.hpp"
#include "core/twilio_signature.hpp"
#include "tests/support/app_fixture.hpp"
#include "tests/support/media_client.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <regex>
#include <string>

using namespace al;
using namespace al::test;
using namespace std::chrono_literals;

namespace {

int failures = 0;

void check(bool ok, const std::string& name, const std::string& detail = {}) {
  std::printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(),
              ok || detail.empty() ? "" : ": ", ok ? "" : detail.c_str());
  std::fflush(stdout);
  if (!ok)
    ++failures;
}

std::string arg(int argc, char** argv, const std::string& name,
                const std::string& fallback = {}) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name)
      return argv[i + 1];
  return fallback;
}

bool wait_mark(media_client& ws, const std::string& name,
               std::chrono::milliseconds timeout) {
  return ws.wait_for(
    [&](auto& msgs) {
      for (auto& m : msgs)
        if (event_of(m.text) == "mark" && field_of(m.text, "name") == name)
          return true;
      return false;
    },
    timeout);
}

} // namespace

int main(int argc, char** argv) {
  auto port
    = static_cast<std::uint16_t>(std::stoi(arg(argc, argv, "--port", "5000")));
  auto token = arg(argc, argv, "--auth-token");
  auto base = arg(argc, argv, "--public-base",
                  "http://127.0.0.1:" + std::to_string(port));
  std::mt19937 rng{std::random_device{}()};
  auto sid = "CAsim" + std::to_string(rng());
  auto stream = "MZsim" + std::to_string(rng());

  std::vector<std::pair<std::string, std::string>> params{
    {"CallSid", sid},          {"From", "+972501234567"},
    {"To", "+97231234567"},    {"AccountSid", "ACsim"},
    {"CallStatus", "ringing"}, {"Direction", "inbound"}};
  auto twiml = twilio_post(port, base, token, "/webhook/incoming_call", params);
  check(twiml.status == 200, "sim incoming_call 200",
        std::to_string(twiml.status) + " " + twiml.body);
  check(twiml.body.find("<Connect") != std::string::npos
          && twiml.body.find("<Stream") != std::string::npos,
        "sim TwiML has <Connect><Stream>");
  check(twiml.body.find("<Play") == std::string::npos,
        "sim TwiML has no <Play>");
  std::smatch m;
  std::string call_token;
  if (std::regex_search(twiml.body, m,
                        std::regex("name=\"call_token\" value=\"([^\"]+)\"")))
    call_token = m[1].str();
  std::string path = "/ws/twilio-media";
  if (std::regex_search(twiml.body, m,
                        std::regex("<Stream url=\"wss?://[^/\"]+([^\"]*)\"")))
    path = m[1].str();

  media_client ws;
  auto hs = ws.connect(port, path, "audio.twilio.com");
  check(hs.ok, "sim WebSocket upgrade", hs.error);
  check(hs.subprotocol == "audio.twilio.com",
        "sim Sec-WebSocket-Protocol: audio.twilio.com echoed", hs.subprotocol);
  if (!hs.ok)
    return 1;
  ws.send_connected();
  auto start = std::chrono::steady_clock::now();
  ws.send_start(stream, sid, {{"call_token", call_token}});
  bool spoke = ws.wait_for([](auto& msgs) { return !msgs.empty(); }, 2s);
  auto first = ws.first_at();
  auto ms
    = first ? std::chrono::duration<double, std::milli>(*first - start).count()
            : -1.0;
  check(spoke && event_of(ws.messages().front().text) == "media",
        "sim the agent speaks at once (first media frame)",
        "no media within 2 s");
  std::printf("INFO first media frame after %.1f ms (client side)\n", ms);
  check(spoke && ms < 500, "sim first media within 500 ms of start",
        std::to_string(ms) + " ms");

  bool heard = wait_mark(ws, "u1", 20s);
  check(heard, "sim greeting ends with a mark");
  ws.send_mark(stream, "u1");
  ws.send_dtmf(stream, "1");
  check(wait_mark(ws, "u2", 20s), "sim DTMF 1 moves the dialogue on");
  ws.send_mark(stream, "u2");
  auto speech = tone_frames(20);
  for (int i = 0; i < 20; ++i)
    ws.send_media(stream,
                  speech.substr(static_cast<std::size_t>(i) * 160, 160));
  auto quiet = silence_frames(30);
  for (int i = 0; i < 30; ++i)
    ws.send_media(stream, quiet.substr(static_cast<std::size_t>(i) * 160, 160));
  check(wait_mark(ws, "u3", 20s), "sim spoken answer gets the goodbye");
  ws.send_mark(stream, "u3");
  check(ws.wait_closed(10s), "sim server ends the stream after the goodbye");

  auto ended = twilio_post(port, base, token, "/webhook/stream_ended",
                           {{"CallSid", sid}, {"CallStatus", "in-progress"}});
  check(ended.status == 200
          && ended.body.find("<Hangup/>") != std::string::npos,
        "sim <Connect action> after a normal end answers <Hangup/>",
        std::to_string(ended.status) + " " + ended.body);
  return failures == 0 ? 0 : 1;
}
