// al-loadgen: N concurrent Twilio Media Streams calls for S seconds against
// a running server, playing Twilio's side exactly, and measuring what a
// caller would notice.
//
//   al-loadgen --port P --auth-token T [--public-base URL] --calls N
//              --seconds S [--ramp R] [--threads 1] [--http-conns 8]
//              [--baseline] [--barge] [--server-pid PID] [--out FILE]
//
// One call (service mode): signed POST /webhook/incoming_call -> TwiML
// parsed (Stream url, statusCallback, Parameters, Connect action) ->
// WebSocket upgrade offering audio.twilio.com (signed, as Twilio does) ->
// `connected`, `start` with the Parameters -> signed stream-started status
// callback -> `media` every 20 ms (silence; with --barge a short tone once
// per utterance, 1 s in) -> every `mark` echoed when the audio before it has
// played (Twilio's playout clock), at once on `clear` -> `stop` and a close
// -> stream-stopped status callback and the signed <Connect action>.
// --baseline skips every HTTP step (al-baseline has none).
//
// Efficiency (the generator shares a 2-core machine with the server): one
// io_context and one 1 ms timer per thread; calls spread over the 20 slots
// of the 20 ms period; each call's media frame is written with one
// non-blocking send() into a preallocated buffer (async only when the
// socket is full); WebSocket framing is done here (Beast parses the
// upgrade response) so no per-frame composed operation or allocation runs.
//
// Self-check: every send's lag behind its slot is recorded; when its p99
// exceeds --max-lag-ms (5 ms) the run is marked invalid: the figures would
// measure the generator, not the server.
//
// Output: one JSON document (stdout or --out), a summary on stderr.

#include "bench/bench_util.hpp"
#include "bench/http_pool.hpp"

#include "core/crypto.hpp"
#include "core/form.hpp"
#include "core/media_out.hpp"
#include "core/mulaw.hpp"
#include "core/twilio_signature.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/sha.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

namespace al::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto frame_period = 20ms;
constexpr auto tick_period = 1ms;
constexpr int slot_count = 20; // ticks per frame period
constexpr auto late_gap = 40ms;
constexpr auto stop_grace = 5s;
constexpr auto barge_delay = 1000ms;
constexpr int barge_tone_frames = 10;
constexpr std::size_t read_chunk = 4096;

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5000;
  std::string public_base;
  std::string auth_token;
  std::string ws_path = "/ws/twilio-media";
  std::string to = "+97231234567";
  std::string label;
  std::string out;
  int calls = 100;
  double seconds = 20;
  double ramp = 5;
  int threads = 1;
  int http_conns = 8;
  bool baseline = false;
  bool barge = false;
  int server_pid = 0;
  double max_lag_ms = 5;
};

/// Precomputed base64 payloads (the generator never encodes per frame).
struct audio_frames {
  std::string silence;
  std::vector<std::string> tone;
};

audio_frames make_audio() {
  audio_frames a;
  std::string quiet(mulaw::frame_bytes, static_cast<char>(mulaw::silence));
  a.silence = crypto::base64_encode(quiet);
  for (int f = 0; f < barge_tone_frames; ++f) {
    std::string frame;
    for (std::size_t i = 0; i < mulaw::frame_bytes; ++i) {
      auto n = static_cast<double>(f * mulaw::frame_bytes + i);
      frame.push_back(static_cast<char>(mulaw::encode(static_cast<std::int16_t>(
        8000 * std::sin(2 * M_PI * 440.0 * n / 8000.0)))));
    }
    a.tone.push_back(crypto::base64_encode(frame));
  }
  return a;
}

std::string xml_unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    static const std::pair<std::string_view, char> ents[] = {{"&amp;", '&'},
                                                             {"&lt;", '<'},
                                                             {"&gt;", '>'},
                                                             {"&quot;", '"'},
                                                             {"&apos;", '\''}};
    bool hit = false;
    for (auto& [e, c] : ents)
      if (s.substr(i, e.size()) == e) {
        out.push_back(c);
        i += e.size() - 1;
        hit = true;
        break;
      }
    if (!hit)
      out.push_back('&');
  }
  return out;
}

/// Value of attribute `name` in the start tag `tag` ("<Stream url=...>").
std::optional<std::string> attr_of(std::string_view tag,
                                   std::string_view name) {
  std::string key = " " + std::string{name} + "=\"";
  auto p = tag.find(key);
  if (p == std::string_view::npos)
    return std::nullopt;
  p += key.size();
  auto e = tag.find('"', p);
  if (e == std::string_view::npos)
    return std::nullopt;
  return xml_unescape(tag.substr(p, e - p));
}

/// The start tag of the first `<name ...>` element, or "".
std::string_view tag_of(std::string_view doc, std::string_view name,
                        std::size_t from = 0, std::size_t* end = nullptr) {
  std::string open = "<" + std::string{name};
  for (auto p = doc.find(open, from); p != std::string_view::npos;
       p = doc.find(open, p + 1)) {
    auto after = p + open.size();
    if (after < doc.size()
        && (doc[after] == ' ' || doc[after] == '>' || doc[after] == '/')) {
      auto e = doc.find('>', p);
      if (e == std::string_view::npos)
        return {};
      if (end)
        *end = e;
      return doc.substr(p, e - p + 1);
    }
  }
  return {};
}

/// What incoming_call answered.
struct twiml_stream {
  std::string url;
  std::string status_callback;
  std::string action;
  std::vector<std::pair<std::string, std::string>> parameters;
};

std::optional<twiml_stream> parse_twiml(std::string_view doc) {
  twiml_stream t;
  auto stream = tag_of(doc, "Stream");
  auto connect = tag_of(doc, "Connect");
  if (stream.empty() || connect.empty())
    return std::nullopt;
  auto url = attr_of(stream, "url");
  if (!url)
    return std::nullopt;
  t.url = *url;
  t.status_callback = attr_of(stream, "statusCallback").value_or("");
  t.action = attr_of(connect, "action").value_or("");
  std::size_t pos = 0;
  for (;;) {
    std::size_t end = 0;
    auto p = tag_of(doc, "Parameter", pos, &end);
    if (p.empty())
      break;
    auto n = attr_of(p, "name");
    auto v = attr_of(p, "value");
    if (n)
      t.parameters.emplace_back(*n, v.value_or(""));
    pos = end;
  }
  return t;
}

/// Path (and query) of an absolute URL.
std::string path_of(std::string_view url) {
  auto scheme = url.find("://");
  auto from = scheme == std::string_view::npos ? 0 : scheme + 3;
  auto slash = url.find('/', from);
  return slash == std::string_view::npos ? "/" : std::string{url.substr(slash)};
}

std::string ws_accept_for(std::string_view key) {
  std::string s{key};
  s += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  return crypto::base64_encode(
    std::string_view{reinterpret_cast<const char*>(digest), sizeof digest});
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto n = std::snprintf(buf, sizeof buf, "%llu",
                         static_cast<unsigned long long>(v));
  out.append(buf, static_cast<std::size_t>(n));
}

/// Per-thread figures, merged at the end.
struct stats {
  histogram first_media{20000};
  histogram jitter{5000};   // max(0, gap - 20 ms) within an utterance
  histogram gap{5000};      // raw inter-frame gap within an utterance
  histogram send_lag{5000}; // our own sends behind their slot
  histogram http_incoming{20000};
  histogram http_action{20000};
  histogram handshake{20000};
  histogram barge{20000}; // tone onset (2nd loud frame) -> clear
  std::uint64_t late_frames = 0;
  // What the caller hears (Twilio's playout clock): an underrun is the
  // clock running dry for more than one frame inside an utterance.
  std::uint64_t underruns = 0;
  std::uint64_t underrun_us = 0; // silence heard inside utterances
  std::uint64_t media_in = 0;
  std::uint64_t media_out = 0;
  std::uint64_t marks_in = 0;
  std::uint64_t marks_echoed = 0;
  std::uint64_t clears = 0;
  std::uint64_t barge_unanswered = 0;
  std::uint64_t http_failed = 0;
  std::uint64_t handshake_failed = 0;
  std::uint64_t subprotocol_missing = 0;
  std::uint64_t closed_early = 0;
  std::uint64_t finished_by_server = 0;
  std::uint64_t no_media = 0;
  std::uint64_t completed = 0;
  std::uint64_t action_hangup = 0;
  std::uint64_t action_fallback = 0;
  std::uint64_t action_failed = 0;
  std::uint64_t status_failed = 0;
  std::uint64_t pings = 0;

  void merge(const stats& o) {
    first_media.merge(o.first_media);
    jitter.merge(o.jitter);
    gap.merge(o.gap);
    send_lag.merge(o.send_lag);
    http_incoming.merge(o.http_incoming);
    http_action.merge(o.http_action);
    handshake.merge(o.handshake);
    barge.merge(o.barge);
    for (auto [a, b] :
         std::initializer_list<std::pair<std::uint64_t*, std::uint64_t>>{
           {&late_frames, o.late_frames},
           {&underruns, o.underruns},
           {&underrun_us, o.underrun_us},
           {&media_in, o.media_in},
           {&media_out, o.media_out},
           {&marks_in, o.marks_in},
           {&marks_echoed, o.marks_echoed},
           {&clears, o.clears},
           {&barge_unanswered, o.barge_unanswered},
           {&http_failed, o.http_failed},
           {&handshake_failed, o.handshake_failed},
           {&subprotocol_missing, o.subprotocol_missing},
           {&closed_early, o.closed_early},
           {&finished_by_server, o.finished_by_server},
           {&no_media, o.no_media},
           {&completed, o.completed},
           {&action_hangup, o.action_hangup},
           {&action_fallback, o.action_fallback},
           {&action_failed, o.action_failed},
           {&status_failed, o.status_failed},
           {&pings, o.pings}})
      *a += b;
  }
};

std::atomic<int> g_streaming{0}; // calls between start and end
std::atomic<int> g_max_streaming{0};

struct worker;

enum class phase {
  pending,
  http,
  connecting,
  upgrading,
  streaming,
  stopping,
  ending,
  done
};

class call : public std::enable_shared_from_this<call> {
public:
  call(worker& w, int index, clock::time_point start_at);

  void begin();
  void on_tick(clock::time_point now, clock::time_point scheduled);
  phase state() const noexcept {
    return ph_;
  }
  int slot() const noexcept {
    return slot_;
  }

private:
  void on_incoming(http_result& r);
  void do_connect();
  void on_connect(beast::error_code ec);
  void on_upgrade_written(beast::error_code ec);
  void on_upgrade(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t n);
  void on_frame(std::uint8_t op, bool fin, const char* p, std::size_t n,
                clock::time_point now);
  void on_text(std::string_view text, clock::time_point now);
  void send_media(clock::time_point now);
  void send_text(std::string_view text);
  void send_frame(std::uint8_t op, std::string_view payload);
  void flush();
  void echo_mark(const std::string& name);
  void do_stop(clock::time_point now);
  void socket_ended(const std::string& why, int close_code);
  void post_status(const char* event);
  void post_action();
  void finish();
  void signed_post(const std::string& url,
                   std::vector<std::pair<std::string, std::string>> params,
                   std::function<void(http_result&)> done);

  worker& w_;
  int index_;
  int slot_;
  clock::time_point start_at_;
  clock::time_point stop_at_;
  std::string call_sid_;
  std::string stream_sid_;
  std::string from_;
  std::string ws_path_;
  std::string stream_url_;
  twiml_stream twiml_;
  tcp::socket sock_;
  phase ph_ = phase::pending;

  // handshake
  std::string upgrade_;
  std::string ws_key_;
  beast::flat_buffer hbuf_;
  std::optional<http::response_parser<http::empty_body>> hparser_;
  clock::time_point connect_at_;

  // reading: raw frames (server frames are unmasked)
  std::vector<char> rbuf_;
  std::size_t rlen_ = 0;
  std::string frag_;
  bool reading_ = false;

  // writing: one buffer being written, one collecting
  std::string wbuf_;
  std::string wnext_;
  bool writing_ = false;
  bool sock_open_ = false;
  bool sent_close_ = false;

  // the stream
  std::uint64_t seq_ = 0;
  std::uint64_t chunk_ = 0;
  clock::time_point start_sent_;
  clock::time_point last_media_;
  clock::time_point play_end_;
  clock::time_point stop_sent_;
  bool got_media_ = false;
  bool run_open_ = false; // inside an utterance (media since the last mark)
  std::deque<std::pair<std::string, clock::time_point>> marks_;

  // barge-in
  std::optional<clock::time_point> barge_at_;
  int tone_left_ = 0;
  bool awaiting_clear_ = false;
  clock::time_point tone_onset_;
};

struct worker {
  worker(const options& o, const audio_frames& a, clock::time_point t0)
    : o(o)
    , audio(a)
    , timer(ioc)
    , pool(ioc, tcp::endpoint{net::ip::make_address(o.host), o.port},
           o.http_conns)
    , endpoint(net::ip::make_address(o.host), o.port)
    , t0(t0)
    , rng(0x9E3779B97F4A7C15ull ^ reinterpret_cast<std::uintptr_t>(this)) {
    scratch.reserve(1024);
  }

  const options& o;
  const audio_frames& audio;
  net::io_context ioc{1};
  net::steady_timer timer;
  http_pool pool;
  tcp::endpoint endpoint;
  clock::time_point t0;
  std::vector<std::shared_ptr<call>> calls; // by start time
  std::array<std::vector<call*>, slot_count> by_slot;
  std::size_t next_start = 0;
  std::size_t finished = 0;
  clock::time_point tick_at;
  std::uint64_t tick_no = 0;
  stats st;
  std::string scratch; // payload being built (reused)
  std::uint64_t rng;

  std::uint64_t random() noexcept {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  }

  void run() {
    // Slot 0 of the first tick is t0; ticks are absolute (no drift).
    tick_at = t0;
    timer.expires_at(tick_at);
    timer.async_wait([this](beast::error_code ec) { on_tick(ec); });
    ioc.run();
  }

  void on_tick(beast::error_code ec) {
    if (ec)
      return;
    auto now = clock::now();
    while (next_start < calls.size() && starts[next_start] <= now)
      calls[next_start++]->begin();
    auto slot = static_cast<std::size_t>(tick_no % slot_count);
    for (auto* c : by_slot[slot])
      c->on_tick(now, tick_at);
    ++tick_no;
    if (finished == calls.size()) {
      pool.close();
      return; // nothing left: the io_context runs out of work
    }
    tick_at += tick_period;
    timer.expires_at(tick_at);
    timer.async_wait([this](beast::error_code ec) { on_tick(ec); });
  }

  std::vector<clock::time_point> starts; // of `calls`, ascending
};

call::call(worker& w, int index, clock::time_point start_at)
  : w_(w)
  , index_(index)
  , slot_(index % slot_count)
  , start_at_(start_at)
  , sock_(w.ioc) {
  auto d = std::chrono::duration_cast<clock::duration>(
    std::chrono::duration<double>(w.o.ramp + w.o.seconds));
  stop_at_ = start_at_ + d;
  char buf[64];
  std::snprintf(buf, sizeof buf, "CAbench%08x%016llx", index,
                static_cast<unsigned long long>(w.random()));
  call_sid_ = buf;
  std::snprintf(buf, sizeof buf, "MZbench%08x%016llx", index,
                static_cast<unsigned long long>(w.random()));
  stream_sid_ = buf;
  std::snprintf(buf, sizeof buf, "+97250%07d", index % 10000000);
  from_ = buf;
  rbuf_.resize(read_chunk);
  wbuf_.reserve(1024);
  wnext_.reserve(1024);
}

void call::signed_post(const std::string& url,
                       std::vector<std::pair<std::string, std::string>> params,
                       std::function<void(http_result&)> done) {
  http_job job;
  job.target = path_of(url);
  auto sig = twilio_signature(w_.o.auth_token, url, form_params{params});
  job.body = encode_form(params);
  job.headers.emplace_back("X-Twilio-Signature", sig);
  job.done = std::move(done);
  w_.pool.submit(std::move(job));
}

// Start: Twilio asks the webhook what to do with the call.
void call::begin() {
  if (w_.o.baseline) {
    ws_path_ = w_.o.ws_path;
    return do_connect();
  }
  ph_ = phase::http;
  signed_post(w_.o.public_base + "/webhook/incoming_call",
              {{"AccountSid", "ACbench"},
               {"ApiVersion", "2010-04-01"},
               {"CallSid", call_sid_},
               {"CallStatus", "ringing"},
               {"Called", w_.o.to},
               {"Caller", from_},
               {"Direction", "inbound"},
               {"From", from_},
               {"To", w_.o.to}},
              [self = shared_from_this()](http_result& r) {
                self->on_incoming(r);
              });
}

void call::on_incoming(http_result& r) {
  w_.st.http_incoming.add(r.latency_us);
  std::optional<twiml_stream> t;
  if (r.status == 200)
    t = parse_twiml(r.body);
  if (!t) {
    ++w_.st.http_failed;
    if (w_.st.http_failed <= 3)
      std::fprintf(stderr, "incoming_call %s: status %d %s %.200s\n",
                   call_sid_.c_str(), r.status, r.error.c_str(),
                   r.body.c_str());
    return finish();
  }
  twiml_ = std::move(*t);
  stream_url_ = twiml_.url;
  ws_path_ = path_of(stream_url_);
  do_connect();
}

// Open the media WebSocket.
void call::do_connect() {
  ph_ = phase::connecting;
  connect_at_ = clock::now();
  sock_.async_connect(w_.endpoint,
                      [self = shared_from_this()](beast::error_code ec) {
                        self->on_connect(ec);
                      });
}

void call::on_connect(beast::error_code ec) {
  if (ec) {
    ++w_.st.handshake_failed;
    return finish();
  }
  sock_open_ = true;
  sock_.set_option(tcp::no_delay(true), ec);
  ph_ = phase::upgrading;
  std::string key_bytes(16, '\0');
  for (auto& c : key_bytes)
    c = static_cast<char>(w_.random());
  ws_key_ = crypto::base64_encode(key_bytes);
  upgrade_ = "GET " + ws_path_ + " HTTP/1.1\r\nHost: " + w_.o.host + ":"
             + std::to_string(w_.o.port)
             + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: "
             + ws_key_
             + "\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: audio.twilio.com\r\n"
               "User-Agent: Twilio.TmeWs/1.0\r\n";
  if (!w_.o.baseline)
    upgrade_ += "X-Twilio-Signature: "
                + twilio_signature(w_.o.auth_token, stream_url_, form_params{})
                + "\r\n";
  upgrade_ += "\r\n";
  net::async_write(sock_, net::buffer(upgrade_),
                   [self = shared_from_this()](beast::error_code ec,
                                               std::size_t) {
                     self->on_upgrade_written(ec);
                   });
}

void call::on_upgrade_written(beast::error_code ec) {
  if (ec) {
    ++w_.st.handshake_failed;
    return socket_ended("upgrade write", 0);
  }
  hparser_.emplace();
  hparser_->skip(true); // a 101 has no body
  http::async_read_header(sock_, hbuf_, *hparser_,
                          [self = shared_from_this()](beast::error_code ec,
                                                      std::size_t) {
                            self->on_upgrade(ec);
                          });
}

// 101 received: send `connected` and `start`, then stream.
void call::on_upgrade(beast::error_code ec) {
  auto now = clock::now();
  if (ec || hparser_->get().result_int() != 101
      || hparser_->get()[http::field::sec_websocket_accept]
           != ws_accept_for(ws_key_)) {
    ++w_.st.handshake_failed;
    if (w_.st.handshake_failed <= 3)
      std::fprintf(stderr, "upgrade %s failed: %s status %d\n",
                   call_sid_.c_str(), ec.message().c_str(),
                   ec ? 0 : hparser_->get().result_int());
    return socket_ended("handshake", 0);
  }
  w_.st.handshake.add(micros(now - connect_at_));
  if (hparser_->get()[http::field::sec_websocket_protocol]
      != "audio.twilio.com")
    ++w_.st.subprotocol_missing;
  // Bytes after the header already belong to the WebSocket stream.
  auto extra = hbuf_.data();
  if (extra.size() > rbuf_.size())
    rbuf_.resize(extra.size() + read_chunk);
  std::memcpy(rbuf_.data(), extra.data(), extra.size());
  rlen_ = extra.size();
  hbuf_ = {};
  hparser_.reset();
  upgrade_ = {};
  sock_.non_blocking(true, ec);

  ph_ = phase::streaming;
  int live = ++g_streaming;
  for (int m = g_max_streaming.load();
       live > m && !g_max_streaming.compare_exchange_weak(m, live);) {
  }
  send_text(R"({"event":"connected","protocol":"Call","version":"1.0.0"})");
  auto& s = w_.scratch;
  s.clear();
  s += R"({"event":"start","sequenceNumber":")";
  append_uint(s, ++seq_);
  s += R"(","start":{"accountSid":"ACbench","streamSid":")";
  s += stream_sid_;
  s += R"(","callSid":")";
  s += call_sid_;
  s += R"(","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw",)"
       R"("sampleRate":8000,"channels":1},"customParameters":{)";
  bool first = true;
  for (auto& [k, v] : twiml_.parameters) {
    if (!first)
      s += ',';
    first = false;
    append_json_string(s, k);
    s += ':';
    append_json_string(s, v);
  }
  s += R"(}},"streamSid":")";
  s += stream_sid_;
  s += "\"}";
  start_sent_ = clock::now();
  play_end_ = start_sent_;
  send_text(s);
  if (!w_.o.baseline && !twiml_.status_callback.empty())
    post_status("stream-started");
  do_read();
}

void call::do_read() {
  if (reading_ || !sock_open_)
    return;
  if (rbuf_.size() - rlen_ < 512)
    rbuf_.resize(rbuf_.size() * 2);
  reading_ = true;
  sock_.async_read_some(net::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                        [self = shared_from_this()](beast::error_code ec,
                                                    std::size_t n) {
                          self->on_read(ec, n);
                        });
}

// Split what arrived into WebSocket frames.
void call::on_read(beast::error_code ec, std::size_t n) {
  reading_ = false;
  if (ec) {
    if (ec != net::error::operation_aborted)
      socket_ended(ec == net::error::eof ? "eof" : ec.message(), 0);
    return;
  }
  auto now = clock::now();
  rlen_ += n;
  std::size_t pos = 0;
  while (sock_open_ && rlen_ - pos >= 2) {
    auto* p = reinterpret_cast<unsigned char*>(rbuf_.data() + pos);
    bool fin = p[0] & 0x80;
    auto op = static_cast<std::uint8_t>(p[0] & 0x0F);
    bool masked = p[1] & 0x80;
    std::uint64_t len = p[1] & 0x7F;
    std::size_t hdr = 2;
    if (len == 126) {
      if (rlen_ - pos < 4)
        break;
      len = (std::uint64_t{p[2]} << 8) | p[3];
      hdr = 4;
    } else if (len == 127) {
      if (rlen_ - pos < 10)
        break;
      len = 0;
      for (int i = 0; i < 8; ++i)
        len = (len << 8) | p[2 + i];
      hdr = 10;
    }
    std::size_t mask_at = hdr;
    if (masked)
      hdr += 4;
    if (rlen_ - pos < hdr + len) {
      if (hdr + len > rbuf_.size())
        rbuf_.resize(hdr + len + read_chunk);
      break;
    }
    char* payload = rbuf_.data() + pos + hdr;
    if (masked)
      for (std::uint64_t i = 0; i < len; ++i)
        payload[i] ^= static_cast<char>(p[mask_at + (i & 3)]);
    on_frame(op, fin, payload, static_cast<std::size_t>(len), now);
    pos += hdr + len;
  }
  if (pos > 0 && pos < rlen_)
    std::memmove(rbuf_.data(), rbuf_.data() + pos, rlen_ - pos);
  rlen_ -= std::min(pos, rlen_);
  if (sock_open_)
    do_read();
}

void call::on_frame(std::uint8_t op, bool fin, const char* p, std::size_t n,
                    clock::time_point now) {
  switch (op) {
    case 0x0: // continuation
      frag_.append(p, n);
      if (fin) {
        on_text(frag_, now);
        frag_.clear();
      }
      return;
    case 0x1:
      if (fin)
        on_text(std::string_view{p, n}, now);
      else
        frag_.assign(p, n);
      return;
    case 0x8: { // close: answer it, then the socket ends
      int code = n >= 2 ? (static_cast<unsigned char>(p[0]) << 8)
                            | static_cast<unsigned char>(p[1])
                        : 1005;
      if (!sent_close_) {
        sent_close_ = true;
        send_frame(0x8, std::string_view{p, std::min<std::size_t>(n, 2)});
      }
      socket_ended("closed by server", code);
      return;
    }
    case 0x9: // ping
      ++w_.st.pings;
      send_frame(0xA, std::string_view{p, n});
      return;
    default:
      return;
  }
}

std::string_view json_field(std::string_view text, std::string_view key) {
  auto p = text.find(key);
  if (p == std::string_view::npos)
    return {};
  p += key.size();
  auto e = text.find('"', p);
  return e == std::string_view::npos ? std::string_view{}
                                     : text.substr(p, e - p);
}

// What the server sent: media (timed), mark (echoed when played), clear.
void call::on_text(std::string_view text, clock::time_point now) {
  auto ev = json_field(text.substr(0, 64), "\"event\":\"");
  auto& st = w_.st;
  if (ev == "media") {
    ++st.media_in;
    if (!got_media_) {
      got_media_ = true;
      st.first_media.add(micros(now - start_sent_));
    } else if (run_open_) {
      auto gap = now - last_media_;
      st.gap.add(micros(gap));
      st.jitter.add(std::max<std::int64_t>(0, micros(gap - frame_period)));
      if (gap > late_gap)
        ++st.late_frames;
      // The queued audio ran out at play_end_; this frame starts playing
      // now. A dry spell longer than one frame is heard as a gap.
      if (now > play_end_ + frame_period) {
        ++st.underruns;
        st.underrun_us += static_cast<std::uint64_t>(micros(now - play_end_));
      }
    }
    if (!run_open_ && w_.o.barge && !barge_at_)
      barge_at_ = now + barge_delay;
    run_open_ = true;
    last_media_ = now;
    // Twilio's playout clock: each frame plays 20 ms after the previous.
    play_end_ = std::max(play_end_, now) + frame_period;
  } else if (ev == "mark") {
    ++st.marks_in;
    marks_.emplace_back(std::string{json_field(text, "\"name\":\"")},
                        std::max(play_end_, now));
    run_open_ = false;
    barge_at_.reset();
    if (awaiting_clear_) { // the utterance was not interrupted
      awaiting_clear_ = false;
      ++st.barge_unanswered;
    }
  } else if (ev == "clear") {
    ++st.clears;
    if (awaiting_clear_) {
      awaiting_clear_ = false;
      st.barge.add(micros(now - tone_onset_));
    }
    // Twilio returns the marks of the cleared audio at once.
    while (!marks_.empty()) {
      echo_mark(marks_.front().first);
      marks_.pop_front();
    }
    play_end_ = now;
    run_open_ = false;
    barge_at_.reset();
  }
}

void call::on_tick(clock::time_point now, clock::time_point scheduled) {
  if (ph_ == phase::stopping) {
    if (now - stop_sent_ > stop_grace)
      socket_ended("no close from server", 0);
    return;
  }
  if (ph_ != phase::streaming)
    return;
  if (now >= stop_at_)
    return do_stop(now);
  w_.st.send_lag.add(micros(now - scheduled));
  send_media(now);
  while (!marks_.empty() && marks_.front().second <= now) {
    echo_mark(marks_.front().first);
    marks_.pop_front();
  }
}

// One inbound frame (silence, or the barge-in tone).
void call::send_media(clock::time_point now) {
  const std::string* payload = &w_.audio.silence;
  if (barge_at_ && now >= *barge_at_) {
    barge_at_.reset();
    tone_left_ = barge_tone_frames;
  }
  if (tone_left_ > 0) {
    int i = barge_tone_frames - tone_left_;
    payload = &w_.audio.tone[static_cast<std::size_t>(i)];
    if (i == 1) { // the VAD declares speech on the 2nd loud frame
      tone_onset_ = now;
      awaiting_clear_ = true;
    }
    --tone_left_;
  }
  auto& s = w_.scratch;
  s.clear();
  s += R"({"event":"media","sequenceNumber":")";
  append_uint(s, ++seq_);
  s += R"(","media":{"track":"inbound","chunk":")";
  append_uint(s, ++chunk_);
  s += R"(","timestamp":")";
  append_uint(s, (chunk_ - 1) * 20);
  s += R"(","payload":")";
  s += *payload;
  s += R"("},"streamSid":")";
  s += stream_sid_;
  s += "\"}";
  ++w_.st.media_out;
  send_text(s);
}

void call::echo_mark(const std::string& name) {
  if (ph_ != phase::streaming)
    return;
  auto& s = w_.scratch;
  s.clear();
  s += R"({"event":"mark","sequenceNumber":")";
  append_uint(s, ++seq_);
  s += R"(","streamSid":")";
  s += stream_sid_;
  s += R"(","mark":{"name":)";
  append_json_string(s, name);
  s += "}}";
  ++w_.st.marks_echoed;
  send_text(s);
}

void call::send_text(std::string_view text) {
  send_frame(0x1, text);
}

// A masked client frame appended to the collecting buffer, then flushed.
void call::send_frame(std::uint8_t op, std::string_view payload) {
  if (!sock_open_)
    return;
  auto& b = writing_ ? wnext_ : wbuf_;
  auto n = payload.size();
  b.push_back(static_cast<char>(0x80 | op));
  if (n < 126) {
    b.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    b.push_back(static_cast<char>(0x80 | 126));
    b.push_back(static_cast<char>(n >> 8));
    b.push_back(static_cast<char>(n & 0xFF));
  } else {
    b.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i)
      b.push_back(
        static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xFF));
  }
  auto key = static_cast<std::uint32_t>(w_.random());
  char mask[4];
  std::memcpy(mask, &key, 4);
  b.append(mask, 4);
  auto at = b.size();
  b.append(payload.data(), n);
  for (std::size_t i = 0; i < n; ++i)
    b[at + i] ^= mask[i & 3];
  if (!writing_)
    flush();
}

// Write what is collected: one non-blocking send, async for the remainder.
void call::flush() {
  if (writing_ || wbuf_.empty() || !sock_open_)
    return;
  beast::error_code ec;
  auto n = sock_.write_some(net::buffer(wbuf_), ec);
  if (!ec && n == wbuf_.size()) {
    wbuf_.clear();
    return;
  }
  if (ec && ec != net::error::would_block && ec != net::error::try_again) {
    wbuf_.clear();
    return socket_ended("write: " + ec.message(), 0);
  }
  wbuf_.erase(0, n);
  writing_ = true;
  net::async_write(sock_, net::buffer(wbuf_),
                   [self = shared_from_this()](beast::error_code ec,
                                               std::size_t) {
                     self->writing_ = false;
                     self->wbuf_.clear();
                     if (ec) {
                       self->wnext_.clear();
                       if (ec != net::error::operation_aborted)
                         self->socket_ended("write: " + ec.message(), 0);
                       return;
                     }
                     std::swap(self->wbuf_, self->wnext_);
                     self->flush();
                   });
}

// The call ends on our side: `stop`, then a normal close.
void call::do_stop(clock::time_point now) {
  auto& s = w_.scratch;
  s.clear();
  s += R"({"event":"stop","sequenceNumber":")";
  append_uint(s, ++seq_);
  s += R"(","streamSid":")";
  s += stream_sid_;
  s += R"(","stop":{"accountSid":"ACbench","callSid":")";
  s += call_sid_;
  s += "\"}}";
  send_text(s);
  ph_ = phase::stopping;
  stop_sent_ = now;
  sent_close_ = true;
  send_frame(0x8, std::string_view{"\x03\xE8", 2}); // 1000
}

// The WebSocket is gone (our stop answered, or the server ended it).
void call::socket_ended(const std::string& why, int close_code) {
  if (ph_ == phase::ending || ph_ == phase::done)
    return;
  bool was_streaming = ph_ == phase::streaming;
  bool was_live = ph_ == phase::streaming || ph_ == phase::stopping;
  if (was_live)
    --g_streaming;
  if (sock_open_) {
    sock_open_ = false;
    beast::error_code ec;
    sock_.close(ec);
  }
  auto& st = w_.st;
  if (was_streaming) {
    if (w_.o.barge && close_code == 1000)
      ++st.finished_by_server;
    else {
      ++st.closed_early;
      if (st.closed_early <= 3)
        std::fprintf(stderr, "call %s ended early: %s (code %d)\n",
                     call_sid_.c_str(), why.c_str(), close_code);
    }
  } else if (ph_ == phase::stopping) {
    ++(got_media_ ? st.completed : st.no_media);
  }
  if (w_.o.baseline || !was_live)
    return finish();
  ph_ = phase::ending;
  if (!twiml_.status_callback.empty())
    post_status("stream-stopped");
  post_action();
}

void call::post_status(const char* event) {
  signed_post(twiml_.status_callback,
              {{"AccountSid", "ACbench"},
               {"CallSid", call_sid_},
               {"StreamSid", stream_sid_},
               {"StreamName", stream_sid_},
               {"StreamEvent", event},
               {"Timestamp", "2024-01-01T00:00:00.000Z"}},
              [self = shared_from_this()](http_result& r) {
                if (r.status < 200 || r.status >= 300)
                  ++self->w_.st.status_failed;
              });
}

// Twilio requests the <Connect action> once the stream has ended.
void call::post_action() {
  if (twiml_.action.empty()) {
    ++w_.st.action_failed;
    return finish();
  }
  signed_post(twiml_.action,
              {{"AccountSid", "ACbench"},
               {"ApiVersion", "2010-04-01"},
               {"CallSid", call_sid_},
               {"CallStatus", "in-progress"},
               {"Direction", "inbound"},
               {"From", from_},
               {"To", w_.o.to}},
              [self = shared_from_this()](http_result& r) {
                auto& st = self->w_.st;
                st.http_action.add(r.latency_us);
                if (r.status != 200)
                  ++st.action_failed;
                else if (r.body.find("<Hangup") != std::string::npos
                         && r.body.find("<Record") == std::string::npos)
                  ++st.action_hangup;
                else
                  ++st.action_fallback;
                self->finish();
              });
}

void call::finish() {
  if (ph_ == phase::done)
    return;
  if (sock_open_) {
    sock_open_ = false;
    beast::error_code ec;
    sock_.close(ec);
  }
  ph_ = phase::done;
  ++w_.finished;
}

} // namespace

int run(int argc, char** argv) {
  flags f(argc, argv);
  options o;
  o.host = f.str("host", o.host);
  o.port = static_cast<std::uint16_t>(f.num("port", o.port));
  o.public_base = f.str("public-base",
                        "http://" + o.host + ":" + std::to_string(o.port));
  o.auth_token = f.str("auth-token");
  o.ws_path = f.str("ws-path", o.ws_path);
  o.calls = static_cast<int>(f.num("calls", o.calls));
  o.seconds = f.real("seconds", o.seconds);
  o.ramp = f.real("ramp", std::min(5.0, o.seconds / 4));
  o.threads = static_cast<int>(std::max(1L, f.num("threads", 1)));
  o.http_conns = static_cast<int>(f.num("http-conns", o.http_conns));
  o.baseline = f.has("baseline");
  o.barge = f.has("barge");
  o.server_pid = static_cast<int>(f.num("server-pid", 0));
  o.max_lag_ms = f.real("max-lag-ms", o.max_lag_ms);
  o.label = f.str("label", o.baseline ? "baseline" : "service");
  o.out = f.str("out");
  if (f.has("help") || o.calls <= 0 || o.seconds <= 0
      || (!o.baseline && o.auth_token.empty())) {
    std::fprintf(stderr,
                 "usage: al-loadgen --port P (--auth-token T | --baseline)"
                 " [--calls N] [--seconds S] [--ramp R] [--threads T]"
                 " [--http-conns C] [--public-base URL] [--barge]"
                 " [--server-pid PID] [--label L] [--out FILE]\n");
    return 2;
  }

  auto audio = make_audio();
  auto t0 = clock::now() + 200ms;
  std::vector<std::unique_ptr<worker>> workers;
  for (int i = 0; i < o.threads; ++i)
    workers.push_back(std::make_unique<worker>(o, audio, t0));
  auto ramp = std::chrono::duration_cast<clock::duration>(
    std::chrono::duration<double>(o.ramp));
  for (int i = 0; i < o.calls; ++i) {
    auto& w = *workers[static_cast<std::size_t>(i % o.threads)];
    auto at = t0 + ramp * i / o.calls;
    w.calls.push_back(std::make_shared<call>(w, i, at));
    w.starts.push_back(at);
    w.by_slot[static_cast<std::size_t>(w.calls.back()->slot())].push_back(
      w.calls.back().get());
  }

  auto cpu0_self = self_cpu_seconds();
  double cpu0 = o.server_pid ? proc_cpu_seconds(o.server_pid) : -1;
  long rss_idle = o.server_pid ? proc_rss_kib(o.server_pid) : -1;

  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back([&w] { w->run(); });

  // Samples of the server, taken by this (otherwise idle) thread.
  auto hold_start = t0 + ramp;
  auto hold = std::chrono::duration_cast<clock::duration>(
    std::chrono::duration<double>(o.seconds));
  std::this_thread::sleep_until(hold_start);
  double cpu_hold0 = o.server_pid ? proc_cpu_seconds(o.server_pid) : -1;
  int live_hold_start = g_streaming.load();
  std::this_thread::sleep_until(hold_start + hold / 2);
  long rss_load = o.server_pid ? proc_rss_kib(o.server_pid) : -1;
  int live_mid = g_streaming.load();
  std::this_thread::sleep_until(hold_start + hold);
  double cpu_hold1 = o.server_pid ? proc_cpu_seconds(o.server_pid) : -1;
  int live_hold_end = g_streaming.load();
  for (auto& t : threads)
    t.join();
  auto t_end = clock::now();
  std::this_thread::sleep_for(1s); // the server's last asynchronous writes
  double cpu1 = o.server_pid ? proc_cpu_seconds(o.server_pid) : -1;
  auto self_cpu = self_cpu_seconds() - cpu0_self;

  stats st;
  for (auto& w : workers)
    st.merge(w->st);

  double wall = std::chrono::duration<double>(t_end - t0).count();
  double call_minutes = o.calls * (o.ramp + o.seconds) / 60.0;
  auto dropped = st.http_failed + st.handshake_failed + st.closed_early
                 + st.no_media;
  double lag_p99 = st.send_lag.percentile_ms(0.99);
  bool valid = lag_p99 <= o.max_lag_ms;
  std::string invalid_reason;
  if (!valid) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "generator fell behind: send lag p99 %.2f ms > %.2f ms",
                  lag_p99, o.max_lag_ms);
    invalid_reason = buf;
  }

  json::object out{
    {"label", o.label},
    {"target", o.baseline ? "baseline" : "service"},
    {"mode", o.barge ? "barge" : "silence"},
    {"calls", o.calls},
    {"seconds", o.seconds},
    {"ramp", o.ramp},
    {"threads", o.threads},
    {"valid", valid},
    {"invalid_reason", invalid_reason},
    {"first_media_ms", st.first_media.summary()},
    {"jitter_ms", st.jitter.summary()},
    {"gap_ms", st.gap.summary()},
    {"late_frames", st.late_frames},
    {"underruns", st.underruns},
    {"underrun_ms", round3(static_cast<double>(st.underrun_us) / 1000)},
    {"played_call_minutes",
     round3(static_cast<double>(st.media_in) * 0.02 / 60)},
    {"underruns_per_call_minute",
     round3(static_cast<double>(st.underruns)
            / std::max(1e-9, static_cast<double>(st.media_in) * 0.02 / 60))},
    {"media_in", st.media_in},
    {"media_out", st.media_out},
    {"marks_in", st.marks_in},
    {"marks_echoed", st.marks_echoed},
    {"clears", st.clears},
    {"barge_ms", st.barge.summary()},
    {"barge_unanswered", st.barge_unanswered},
    {"pings", st.pings},
    {"dropped", json::object{{"total", dropped},
                             {"http_failed", st.http_failed},
                             {"handshake_failed", st.handshake_failed},
                             {"closed_early", st.closed_early},
                             {"no_media", st.no_media}}},
    {"subprotocol_missing", st.subprotocol_missing},
    {"completed", st.completed},
    {"finished_by_server", st.finished_by_server},
    {"live_at_hold_start", live_hold_start},
    {"live_at_hold_mid", live_mid},
    {"live_at_hold_end", live_hold_end},
    {"max_live", g_max_streaming.load()},
    {"action", json::object{{"hangup", st.action_hangup},
                            {"fallback", st.action_fallback},
                            {"failed", st.action_failed}}},
    {"status_callbacks_failed", st.status_failed},
    {"http_incoming_ms", st.http_incoming.summary()},
    {"http_action_ms", st.http_action.summary()},
    {"handshake_ms", st.handshake.summary()},
    {"send_lag_ms", st.send_lag.summary()},
    {"generator", json::object{{"cpu_s", round3(self_cpu)},
                               {"cpu_pct", round3(100 * self_cpu / wall)},
                               {"wall_s", round3(wall)}}},
  };
  if (o.server_pid) {
    double cpu_total = cpu1 - cpu0;
    double cpu_hold = cpu_hold1 - cpu_hold0;
    out["server"] = json::object{
      {"pid", o.server_pid},
      {"cpu_s", round3(cpu_total)},
      {"cpu_s_hold", round3(cpu_hold)},
      {"cpu_pct_hold", round3(100 * cpu_hold / o.seconds)},
      {"cpu_s_per_call_minute", round3(cpu_total / call_minutes * 1000) / 1000},
      {"rss_idle_kib", rss_idle},
      {"rss_load_kib", rss_load},
      {"rss_per_call_kib", round3(static_cast<double>(rss_load - rss_idle)
                                  / std::max(1, live_mid))},
    };
  }
  auto text = json::serialize(out);
  if (o.out.empty()) {
    std::cout << text << "\n";
  } else {
    std::ofstream f(o.out);
    f << text << "\n";
  }
  std::fprintf(
    stderr,
    "%s: %d calls %.0fs%s: first media p50 %.2f p99 %.2f max %.2f ms;"
    " jitter p99 %.2f ms; late %llu; underruns %llu; dropped %llu (http %llu, "
    "handshake %llu,"
    " early %llu, silent %llu); send lag p99 %.2f ms; generator CPU %.1f%%\n",
    o.label.c_str(), o.calls, o.seconds, valid ? "" : " [INVALID]",
    st.first_media.percentile_ms(0.5), st.first_media.percentile_ms(0.99),
    st.first_media.max_ms(), st.jitter.percentile_ms(0.99),
    static_cast<unsigned long long>(st.late_frames),
    static_cast<unsigned long long>(st.underruns),
    static_cast<unsigned long long>(dropped),
    static_cast<unsigned long long>(st.http_failed),
    static_cast<unsigned long long>(st.handshake_failed),
    static_cast<unsigned long long>(st.closed_early),
    static_cast<unsigned long long>(st.no_media), lag_p99,
    100 * self_cpu / wall);
  return 0;
}

} // namespace al::bench

int main(int argc, char** argv) {
  try {
    return al::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "al-loadgen: %s\n", e.what());
    return 1;
  }
}
