#pragma once

// One HTTP/1.1 connection: reads requests one at a time (so pipelined
// requests are answered in order), hands each to the dispatcher, writes the
// answer, and hands upgraded connections to a WebSocket acceptor. A handler
// may answer with a streamed body (request::stream, server-sent events):
// the connection then writes the head and the body's chunks as they come,
// watches for the client closing, and closes when the stream ends.

#include "transport/dispatcher.hpp"
#include "transport/session_registry.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include <memory>
#include <optional>

namespace al {

class http_session : public drainable,
                     public std::enable_shared_from_this<http_session> {
public:
  http_session(tcp::socket&& socket, const dispatcher& d,
               session_registry& registry);
  ~http_session() override;

  void run();
  void drain() override;

private:
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void on_answer(http_response res, std::shared_ptr<body_stream> body);
  void do_write(http_response res);
  void on_write(bool keep_alive, beast::error_code ec, std::size_t bytes);
  void fail_request(http::status status, std::string_view msg);
  void do_close();
  void do_linger();
  void do_linger_read();
  void on_linger(beast::error_code ec, std::size_t bytes);
  // Streamed responses (see body_stream).
  void start_stream(http_response head, std::shared_ptr<body_stream> body);
  void do_stream_write();
  void on_stream_write(beast::error_code ec, std::size_t bytes);
  void do_stream_read();
  void on_stream_read(beast::error_code ec, std::size_t bytes);
  void end_stream();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const dispatcher& dispatcher_;
  session_registry& registry_;
  std::shared_ptr<http_response> pending_; // the response being written
  bool busy_ = false; // a request is being handled or written
  bool draining_ = false;
  bool keep_alive_ = false; // of the request being answered
  bool linger_ = false;     // answered an unreadable request: drain, close
  std::size_t lingered_ = 0;
  std::string remote_;
  std::shared_ptr<body_stream> streaming_; // while a streamed body is sent
  std::string stream_out_;                 // the bytes being written
  bool stream_writing_ = false;
  bool stream_last_ = false; // the terminating chunk is being written
  bool stream_ended_ = false;
};

} // namespace al
