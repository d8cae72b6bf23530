// al-baseline: the practical limit of our stack on this machine. A bare
// Beast WebSocket server that accepts the same upgrade as the service
// (Sec-WebSocket-Protocol audio.twilio.com echoed when offered, the same
// stream options), finds the `start` event's streamSid with a crude string
// search (no JSON parser, no VAD, no actors, no database), and plays the
// same greeting frames with the same pacing as transport/media_session +
// media_pacer: a lead of 3 frames at once, then one 20 ms frame per tick of
// one shared timer per io thread, each frame base64-encoded into Twilio's
// media JSON at send time (core/media_out), a mark after the greeting.
//
//   al-baseline --port P [--threads 1] [--greeting FILE.ulaw]
//
// Without --greeting the default Hebrew greeting is synthesised exactly as
// the service's voice cache does (core/tts, actors/voice_cache prompts).

#include "actors/voice_cache.hpp"
#include "bench/bench_util.hpp"
#include "core/media_out.hpp"
#include "core/mulaw.hpp"
#include "core/tts.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket.hpp>

#include <cstdio>
#include <deque>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>
#include <vector>

namespace al::bench {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

constexpr auto frame_period = std::chrono::milliseconds(20);
constexpr int lead_frames = 3;            // as media_session::lead_frames
constexpr std::size_t queue_limit = 4096; // as the service's media sockets

std::shared_ptr<const std::string> g_greeting;

bool offers(std::string_view offered, std::string_view wanted) {
  while (!offered.empty()) {
    auto comma = offered.find(',');
    auto token = offered.substr(0, comma);
    while (!token.empty() && token.front() == ' ')
      token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ')
      token.remove_suffix(1);
    if (token == wanted)
      return true;
    if (comma == std::string_view::npos)
      break;
    offered.remove_prefix(comma + 1);
  }
  return false;
}

class session;

/// One timer per io thread for every session that has audio to play.
class pacer {
public:
  explicit pacer(net::io_context& ioc)
    : timer_(ioc) {}
  void add(const std::shared_ptr<session>& s);

private:
  void on_tick(beast::error_code ec);
  net::steady_timer timer_;
  std::vector<std::weak_ptr<session>> sessions_;
  bool armed_ = false;
};

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& s, pacer& p)
    : ws_(std::move(s))
    , pacer_(p) {}

  // Read the upgrade request, then accept it.
  void run() {
    parser_.emplace();
    parser_->body_limit(1024 * 1024);
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
    http::async_read(beast::get_lowest_layer(ws_), buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       self->on_request(ec);
                     });
  }

  bool tick(std::chrono::steady_clock::time_point now) {
    if (!open_)
      return false;
    auto due = static_cast<std::uint64_t>(lead_frames)
               + static_cast<std::uint64_t>((now - run_start_) / frame_period);
    auto& g = *g_greeting;
    while (sent_ < due && offset_ < g.size()) {
      auto n = std::min(mulaw::frame_bytes, g.size() - offset_);
      std::string out;
      out.reserve(300);
      append_media_json(out, stream_sid_,
                        std::string_view{g.data() + offset_, n});
      if (!send(std::move(out)))
        return false;
      offset_ += n;
      ++sent_;
    }
    if (offset_ >= g.size()) {
      std::string mark;
      append_mark_json(mark, stream_sid_, "u1");
      send(std::move(mark));
      return false;
    }
    return true;
  }

private:
  void on_request(beast::error_code ec) {
    if (ec)
      return;
    beast::get_lowest_layer(ws_).expires_never();
    auto req = parser_->release();
    parser_.reset();
    if (!websocket::is_upgrade(req))
      return;
    auto timeouts
      = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = websocket::stream_base::none();
    ws_.set_option(timeouts);
    ws_.read_message_max(64 * 1024);
    ws_.auto_fragment(false);
    bool echo = offers(req[http::field::sec_websocket_protocol],
                       "audio.twilio.com");
    ws_.set_option(
      websocket::stream_base::decorator([echo](websocket::response_type& res) {
        res.set(http::field::server, "al-baseline");
        if (echo)
          res.set(http::field::sec_websocket_protocol, "audio.twilio.com");
      }));
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      self->on_accept(ec);
    });
  }

  void on_accept(beast::error_code ec) {
    if (ec)
      return;
    open_ = true;
    do_read();
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec,
                                                        std::size_t) {
      self->on_read(ec);
    });
  }

  // Everything is ignored but the first `start`'s streamSid.
  void on_read(beast::error_code ec) {
    if (ec) {
      open_ = false;
      return;
    }
    if (!started_) {
      auto d = buffer_.cdata();
      std::string_view text{static_cast<const char*>(d.data()), d.size()};
      if (text.find("\"event\":\"start\"") != std::string_view::npos) {
        static constexpr std::string_view key = "\"streamSid\":\"";
        auto p = text.find(key);
        if (p != std::string_view::npos) {
          p += key.size();
          stream_sid_ = std::string{text.substr(p, text.find('"', p) - p)};
          started_ = true;
          run_start_ = std::chrono::steady_clock::now();
          tick(run_start_);
          pacer_.add(shared_from_this());
        }
      }
    }
    buffer_.consume(buffer_.size());
    do_read();
  }

  bool send(std::string text) {
    if (!open_ || queue_.size() >= queue_limit)
      return false;
    queue_.push_back(std::move(text));
    if (!writing_)
      do_write();
    return true;
  }

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    [self = shared_from_this()](beast::error_code ec,
                                                std::size_t) {
                      self->writing_ = false;
                      if (ec) {
                        self->open_ = false;
                        return;
                      }
                      self->queue_.pop_front();
                      if (!self->queue_.empty())
                        self->do_write();
                    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  pacer& pacer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::string> queue_;
  std::string stream_sid_;
  std::chrono::steady_clock::time_point run_start_;
  std::size_t offset_ = 0;
  std::uint64_t sent_ = 0;
  bool open_ = false;
  bool started_ = false;
  bool writing_ = false;
};

void pacer::add(const std::shared_ptr<session>& s) {
  sessions_.push_back(s);
  if (!armed_) {
    armed_ = true;
    timer_.expires_after(frame_period);
    timer_.async_wait([this](beast::error_code ec) { on_tick(ec); });
  }
}

void pacer::on_tick(beast::error_code ec) {
  armed_ = false;
  if (ec)
    return;
  auto now = std::chrono::steady_clock::now();
  std::size_t keep = 0;
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    auto s = sessions_[i].lock();
    if (s && s->tick(now))
      sessions_[keep++] = sessions_[i];
  }
  sessions_.resize(keep);
  if (sessions_.empty())
    return;
  auto next = timer_.expiry() + frame_period;
  if (next < now)
    next = now + frame_period;
  timer_.expires_at(next);
  armed_ = true;
  timer_.async_wait([this](beast::error_code ec) { on_tick(ec); });
}

struct io_slot {
  net::io_context ioc{1};
  pacer pace{ioc};
  std::thread thread;
};

} // namespace

int run(int argc, char** argv) {
  flags f(argc, argv);
  auto port = static_cast<std::uint16_t>(f.num("port", 5001));
  auto threads = static_cast<int>(std::max(1L, f.num("threads", 1)));
  auto file = f.str("greeting");
  if (f.has("help")) {
    std::fprintf(stderr, "usage: al-baseline --port P [--threads N]"
                         " [--greeting FILE (raw 8 kHz mu-law)]\n");
    return 2;
  }
  std::string audio;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    audio.assign(std::istreambuf_iterator<char>(in),
                 std::istreambuf_iterator<char>());
    if (audio.empty()) {
      std::fprintf(stderr, "al-baseline: cannot read %s\n", file.c_str());
      return 1;
    }
  } else {
    auto a = synthesize_mulaw(prompts::default_greeting);
    if (!a) {
      std::fprintf(stderr, "al-baseline: speech synthesis failed\n");
      return 1;
    }
    audio = std::move(*a);
  }
  g_greeting = std::make_shared<const std::string>(std::move(audio));

  std::vector<std::unique_ptr<io_slot>> slots;
  for (int i = 0; i < threads; ++i)
    slots.push_back(std::make_unique<io_slot>());
  auto& main_ioc = slots.front()->ioc;
  tcp::acceptor acceptor(main_ioc);
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), port};
  acceptor.open(ep.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(net::socket_base::max_listen_connections);
  std::size_t next = 0;
  std::function<void()> do_accept = [&] {
    auto* slot = slots[next++ % slots.size()].get();
    acceptor.async_accept(slot->ioc, [&, slot](beast::error_code ec,
                                               tcp::socket s) {
      if (!ec) {
        s.set_option(tcp::no_delay(true), ec);
        net::post(slot->ioc, [slot, s = std::move(s)]() mutable {
          std::make_shared<session>(std::move(s), slot->pace)->run();
        });
      }
      if (acceptor.is_open())
        do_accept();
    });
  };
  do_accept();
  net::signal_set signals(main_ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    for (auto& s : slots)
      s->ioc.stop();
  });
  std::fprintf(stderr,
               "al-baseline listening on 127.0.0.1:%u (%d io threads,"
               " greeting %zu frames = %.2f s)\n",
               port, threads, g_greeting->size() / mulaw::frame_bytes,
               static_cast<double>(g_greeting->size()) / 8000.0);
  for (auto& s : slots) {
    auto* p = s.get();
    p->thread = std::thread([p] {
      auto guard = net::make_work_guard(p->ioc);
      p->ioc.run();
    });
  }
  for (auto& s : slots)
    s->thread.join();
  return 0;
}

} // namespace al::bench

int main(int argc, char** argv) {
  try {
    return al::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "al-baseline: %s\n", e.what());
    return 1;
  }
}
