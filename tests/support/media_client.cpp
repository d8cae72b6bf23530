#include "tests/support/media_client.hpp"

#include "core/crypto.hpp"
#include "core/mulaw.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <simdjson.h>

#include <cmath>
#include <thread>

namespace al::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

struct media_client::impl : std::enable_shared_from_this<impl> {
  net::io_context ioc;
  std::optional<websocket::stream<beast::tcp_stream>> ws;
  beast::flat_buffer buffer;
  struct outgoing {
    std::string data;
    bool binary = false;
    bool fin = true; // false: more frames of this message follow
  };
  std::deque<outgoing> out;
  bool writing = false;
  bool mid_message = false; // a fragmented message is being sent
  std::thread thread;
  mutable std::mutex mtx;
  std::condition_variable cv;
  std::vector<server_message> received;
  bool is_closed = false;
  int code = 0;
  std::size_t ping_count = 0;
  net::executor_work_guard<net::io_context::executor_type> guard{
    ioc.get_executor()};

  void do_read() {
    ws->async_read(buffer, [self = shared_from_this()](beast::error_code ec,
                                                       std::size_t) {
      std::lock_guard<std::mutex> lock{self->mtx};
      if (ec) {
        self->is_closed = true;
        self->code = self->ws->reason().code;
        self->cv.notify_all();
        return;
      }
      self->received.push_back(
        server_message{beast::buffers_to_string(self->buffer.data()),
                       std::chrono::steady_clock::now()});
      self->buffer.consume(self->buffer.size());
      self->cv.notify_all();
      net::post(self->ioc, [self] { self->do_read(); });
    });
  }

  void do_write() {
    if (out.empty() || writing || !ws)
      return;
    writing = true;
    auto& front = out.front();
    if (!mid_message)
      ws->text(!front.binary); // the opcode is the first frame's
    mid_message = !front.fin;
    ws->async_write_some(front.fin, net::buffer(front.data),
                         [self = shared_from_this()](beast::error_code ec,
                                                     std::size_t) {
                           self->writing = false;
                           self->out.pop_front();
                           if (!ec)
                             self->do_write();
                         });
  }
};

media_client::media_client()
  : impl_(std::make_shared<impl>()) {}

media_client::~media_client() {
  auto& d = *impl_;
  // Close politely, then drop the socket: pending handlers hold the impl
  // (and so the socket), so they must complete for either to go away.
  // Stopping the io_context with them pending leaked an open socket,
  // and the server's shutdown then waited for it.
  if (d.thread.joinable()) {
    close();
    wait_closed(std::chrono::seconds(1));
  }
  net::post(d.ioc, [self = impl_] {
    beast::error_code ec;
    if (self->ws)
      beast::get_lowest_layer(*self->ws).socket().close(ec);
  });
  d.guard.reset();
  if (d.thread.joinable()) {
    // run() returns once the aborted handlers have run.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!d.ioc.stopped() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    d.ioc.stop();
    d.thread.join();
  } else {
    d.ioc.poll();
  }
}

handshake_result
media_client::connect(std::uint16_t port, const std::string& path,
                      const std::string& offer,
                      const std::map<std::string, std::string>& headers) {
  handshake_result out;
  auto& d = *impl_;
  d.ws.emplace(d.ioc);
  auto& lowest = beast::get_lowest_layer(*d.ws);
  lowest.expires_after(std::chrono::seconds(5));
  beast::error_code ec;
  lowest.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    out.error = ec.message();
    return out;
  }
  d.ws->set_option(websocket::stream_base::decorator(
    [offer, headers](websocket::request_type& req) {
      if (!offer.empty())
        req.set(http::field::sec_websocket_protocol, offer);
      for (auto& [k, v] : headers)
        req.set(k, v);
    }));
  websocket::response_type res;
  d.ws->handshake(res, "127.0.0.1", path, ec);
  if (ec) {
    out.status = res.result_int();
    out.error = ec.message();
    return out;
  }
  lowest.expires_never();
  out.ok = true;
  out.subprotocol = std::string{res[http::field::sec_websocket_protocol]};
  d.ws->control_callback(
    [self = impl_.get()](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::ping) {
        std::lock_guard<std::mutex> lock{self->mtx};
        ++self->ping_count;
      }
    });
  d.do_read();
  d.thread = std::thread([self = impl_] { self->ioc.run(); });
  return out;
}

void media_client::send(const std::string& text) {
  net::post(impl_->ioc, [self = impl_, text] {
    self->out.push_back({text});
    self->do_write();
  });
}

void media_client::send_binary(const std::string& bytes) {
  net::post(impl_->ioc, [self = impl_, bytes] {
    self->out.push_back({bytes, true});
    self->do_write();
  });
}

void media_client::send_fragments(const std::vector<std::string>& parts) {
  if (parts.empty())
    return;
  net::post(impl_->ioc, [self = impl_, parts] {
    for (std::size_t i = 0; i < parts.size(); ++i)
      self->out.push_back({parts[i], false, i + 1 == parts.size()});
    self->do_write();
  });
}

void media_client::send_connected() {
  send(R"({"event":"connected","protocol":"Call","version":"1.0.0"})");
}

void media_client::send_start(
  const std::string& stream_sid, const std::string& call_sid,
  const std::map<std::string, std::string>& params) {
  std::string p;
  for (auto& [k, v] : params)
    p += (p.empty() ? "" : ",") + std::string{"\""} + k + "\":\"" + v + "\"";
  send(
    R"({"event":"start","sequenceNumber":"1","start":{"accountSid":"ACtest","streamSid":")"
    + stream_sid + R"(","callSid":")" + call_sid
    + R"(","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{)"
    + p + R"(}},"streamSid":")" + stream_sid + "\"}");
}

void media_client::send_media(const std::string& stream_sid,
                              const std::string& mulaw) {
  static std::atomic<int> seq{1};
  auto n = std::to_string(++seq);
  send(R"({"event":"media","sequenceNumber":")" + n
       + R"(","media":{"track":"inbound","chunk":")" + n + R"(","timestamp":")"
       + std::to_string(seq * 20) + R"(","payload":")"
       + crypto::base64_encode(mulaw) + R"("},"streamSid":")" + stream_sid
       + "\"}");
}

void media_client::send_mark(const std::string& stream_sid,
                             const std::string& name) {
  send(R"({"event":"mark","sequenceNumber":"9","streamSid":")" + stream_sid
       + R"(","mark":{"name":")" + name + "\"}}");
}

void media_client::send_dtmf(const std::string& stream_sid,
                             const std::string& digit) {
  send(R"({"event":"dtmf","streamSid":")" + stream_sid
       + R"(","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":")"
       + digit + "\"}}");
}

void media_client::send_stop(const std::string& stream_sid,
                             const std::string& call_sid) {
  send(R"({"event":"stop","sequenceNumber":"99","streamSid":")" + stream_sid
       + R"(","stop":{"accountSid":"ACtest","callSid":")" + call_sid + "\"}}");
}

std::vector<server_message> media_client::messages() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->received;
}

bool media_client::wait_for(
  const std::function<bool(const std::vector<server_message>&)>& pred,
  std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{impl_->mtx};
  return impl_->cv.wait_for(lock, timeout,
                            [&] { return pred(impl_->received); });
}

std::size_t media_client::count(const std::string& event) const {
  std::size_t n = 0;
  for (auto& m : messages())
    if (event_of(m.text) == event)
      ++n;
  return n;
}

bool media_client::closed() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->is_closed;
}

bool media_client::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock{impl_->mtx};
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->is_closed; });
}

int media_client::close_code() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->code;
}

std::size_t media_client::pings() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  return impl_->ping_count;
}

void media_client::close() {
  if (!impl_->ws)
    return;
  net::post(impl_->ioc, [self = impl_] {
    if (self->ws && self->ws->is_open())
      self->ws->async_close(websocket::close_code::normal,
                            [self](beast::error_code) {});
  });
}

std::optional<std::chrono::steady_clock::time_point>
media_client::first_at() const {
  std::lock_guard<std::mutex> lock{impl_->mtx};
  if (impl_->received.empty())
    return std::nullopt;
  return impl_->received.front().at;
}

std::string event_of(const std::string& text) {
  return field_of(text, "event");
}

std::string field_of(const std::string& text, const std::string& key) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS)
    return {};
  simdjson::dom::object obj;
  if (root.get(obj) != simdjson::SUCCESS)
    return {};
  std::string_view v;
  if (obj[key].get(v) == simdjson::SUCCESS)
    return std::string{v};
  for (auto [k, child] : obj) {
    simdjson::dom::object inner;
    if (child.get(inner) == simdjson::SUCCESS
        && inner[key].get(v) == simdjson::SUCCESS)
      return std::string{v};
  }
  return {};
}

std::string tone_frames(int n, int amplitude) {
  std::string out;
  out.reserve(static_cast<std::size_t>(n) * 160);
  for (int i = 0; i < n * 160; ++i) {
    auto s = static_cast<std::int16_t>(
      amplitude * std::sin(2 * M_PI * 440.0 * i / 8000.0));
    out.push_back(static_cast<char>(mulaw::encode(s)));
  }
  return out;
}

std::string silence_frames(int n) {
  return std::string(static_cast<std::size_t>(n) * 160,
                     static_cast<char>(mulaw::silence));
}

} // namespace al::test
