// TEMPORARY STUB (replaced by the audio-store work): see audio_store.hpp.
#include "actors/audio_store.hpp"

namespace al {
std::string_view audio_kind_segment() { return "segment"; }
std::string_view audio_kind_recording() { return "recording"; }
std::string_view audio_kind_call() { return "call"; }
bool save_audio(const store&, std::string, std::string, int, std::string,
                std::string, int) {
  return false;
}
bool append_audio_chunk(const store&, const std::string&, const std::string&,
                        int, const std::string&, int, std::string, bool, int) {
  return false;
}
} // namespace al
