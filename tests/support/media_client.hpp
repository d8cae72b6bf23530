#pragma once

// A Twilio Media Streams client for tests, smoke and simulation: plays
// Twilio's side of the WebSocket (connected, start with parameters, media
// every 20 ms, marks echoed, dtmf, stop) over a real socket, and records
// what the server sends. Runs its own io thread; all methods thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace al::test {

struct handshake_result {
  bool ok = false;         // 101 received
  int status = 0;          // HTTP status of a refused upgrade
  std::string subprotocol; // Sec-WebSocket-Protocol of the response
  std::string error;
};

/// One message received from the server, with its arrival time.
struct server_message {
  std::string text;
  std::chrono::steady_clock::time_point at;
};

class media_client {
public:
  media_client();
  ~media_client();

  /// Connects and upgrades; `offer` is the Sec-WebSocket-Protocol offered
  /// (empty: none); extra headers e.g. X-Twilio-Signature.
  handshake_result
  connect(std::uint16_t port, const std::string& path,
          const std::string& offer = "audio.twilio.com",
          const std::map<std::string, std::string>& headers = {});

  /// Sends one text frame.
  void send(const std::string& text);

  /// Sends one binary frame (Twilio never does).
  void send_binary(const std::string& bytes);

  /// Sends one text message split into a frame per part (continuation
  /// frames after the first).
  void send_fragments(const std::vector<std::string>& parts);

  /// Twilio's messages.
  void send_connected();
  void send_start(const std::string& stream_sid, const std::string& call_sid,
                  const std::map<std::string, std::string>& params);
  void send_media(const std::string& stream_sid, const std::string& mulaw);
  void send_mark(const std::string& stream_sid, const std::string& name);
  void send_dtmf(const std::string& stream_sid, const std::string& digit);
  void send_stop(const std::string& stream_sid, const std::string& call_sid);

  /// Everything received so far.
  std::vector<server_message> messages() const;

  /// Waits until `pred(messages)` holds or the timeout passes.
  bool
  wait_for(const std::function<bool(const std::vector<server_message>&)>& pred,
           std::chrono::milliseconds timeout);

  /// Counts of each received event ("media", "mark", "clear").
  std::size_t count(const std::string& event) const;

  /// True once the server closed the socket; the close code if known.
  bool closed() const;
  /// Waits until the server closed the socket.
  bool wait_closed(std::chrono::milliseconds timeout);
  int close_code() const;

  /// Pings received from the server.
  std::size_t pings() const;

  /// Closes from our side.
  void close();

  /// Time of the first message, if any.
  std::optional<std::chrono::steady_clock::time_point> first_at() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// The event name of a server message ("" if it is not JSON with event).
std::string event_of(const std::string& text);

/// A JSON string field of a server message (top level or one level down).
std::string field_of(const std::string& text, const std::string& key);

/// `n` frames of a 440 Hz tone (speech-like energy) / of silence, mu-law.
std::string tone_frames(int n, int amplitude = 8000);
std::string silence_frames(int n);

} // namespace al::test
