#include "actors/voice_cache.hpp"

#include "core/mulaw.hpp"
#include "core/tts.hpp"

namespace al {

namespace prompts {
const char* const default_greeting
  = "שלום, הגעתם למשרד התיווך. לקנייה הקישו 1, להשכרה 2, למכירה 3, "
    "או ספרו לנו במה נוכל לעזור.";
const char* const ask_callback = "תודה. מתי יהיה לכם נוח שנחזור אליכם?";
const char* const goodbye = "תודה רבה! נציג יחזור אליכם בהקדם. להתראות.";
const char* const didnt_hear = "סליחה, לא שמעתי. אפשר לחזור על זה?";
const char* const fallback
  = "מצטערים, הייתה תקלה בשיחה. אנא השאירו הודעה אחרי הצליל ונחזור אליכם.";
const char* const voicemail
  = "כל הנציגים עסוקים כרגע. אנא השאירו הודעה אחרי הצליל ונחזור אליכם.";
const char* const still_there
  = "אתם עדיין על הקו? אפשר לספר לי במה אוכל לעזור.";
const char* const silent_goodbye
  = "לא שמעתי אתכם, אז נחזור אליכם בהקדם. תודה ולהתראות.";
const char* const transferring = "מעביר אתכם לנציג, רק רגע.";
const char* const recording_notice = "השיחה מוקלטת לצורך שיפור השירות.";
const char* const transfer_missed
  = "הנציגים לא זמינים כרגע. השאירו הודעה אחרי הצליל ונחזור אליכם בהקדם.";
const char* const press_zero = " לשיחה עם נציג הקישו 0.";
} // namespace prompts

audio_ptr voice_cache::synth(const std::string& text) {
  auto audio = synthesize_mulaw(text);
  if (!audio || audio->empty()) {
    // Never leave a caller in silence because synthesis failed: 200 ms of
    // comfort silence keeps the stream alive and the dialogue moving.
    return std::make_shared<const std::string>(
      10 * mulaw::frame_bytes, static_cast<char>(mulaw::silence));
  }
  return std::make_shared<const std::string>(std::move(*audio));
}

audio_ptr voice_cache::say(const std::string& text) {
  return synth(text);
}

void voice_cache::fill_prompts(voice_pack& pack) {
  if (!ask_callback_) {
    ask_callback_ = synth(prompts::ask_callback);
    goodbye_ = synth(prompts::goodbye);
    didnt_hear_ = synth(prompts::didnt_hear);
    still_there_ = synth(prompts::still_there);
    silent_goodbye_ = synth(prompts::silent_goodbye);
    transferring_ = synth(prompts::transferring);
    recording_notice_ = synth(prompts::recording_notice);
  }
  pack.ask_callback = ask_callback_;
  pack.goodbye = goodbye_;
  pack.didnt_hear = didnt_hear_;
  pack.still_there = still_there_;
  pack.silent_goodbye = silent_goodbye_;
  pack.transferring = transferring_;
  pack.recording_notice = recording_notice_;
}

voice_pack_ptr voice_cache::get(std::int64_t business_id,
                                const std::string& greeting_text) {
  const std::string& text = greeting_text.empty()
                              ? std::string{prompts::default_greeting}
                              : greeting_text;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = packs_.find(business_id);
    if (i != packs_.end() && i->second.pack->greeting_text == text)
      return i->second.pack;
  }
  greeting_spec spec;
  spec.text = text;
  return put(business_id, spec, std::nullopt, std::nullopt);
}

voice_pack_ptr voice_cache::find(std::int64_t business_id,
                                 const greeting_spec& spec) {
  constexpr auto recheck = std::chrono::seconds(5);
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = packs_.find(business_id);
  if (i == packs_.end())
    return nullptr;
  auto& e = i->second;
  if (e.spec.text != spec.text || e.spec.rev != spec.rev
      || e.spec.speech_key != spec.speech_key)
    return nullptr;
  if (e.pack->source == greeting_source::espeak && !spec.speech_key.empty()) {
    auto now = std::chrono::steady_clock::now();
    if (now - e.checked > recheck) {
      e.checked = now; // one caller reloads; the others keep this pack
      return nullptr;
    }
  }
  return e.pack;
}

voice_pack_ptr voice_cache::put(std::int64_t business_id,
                                const greeting_spec& spec,
                                std::optional<std::string> uploaded,
                                std::optional<std::string> rendered) {
  // Synthesise outside the lock (espeak has its own lock).
  auto pack = std::make_shared<voice_pack>();
  pack->greeting_text = spec.text;
  if (uploaded && !uploaded->empty()) {
    pack->source = greeting_source::uploaded;
    pad_to_frames(*uploaded);
    pack->greeting = std::make_shared<const std::string>(std::move(*uploaded));
  } else if (rendered && !rendered->empty()) {
    pack->source = greeting_source::rendered;
    pad_to_frames(*rendered);
    pack->greeting = std::make_shared<const std::string>(std::move(*rendered));
  } else {
    pack->greeting = synth(spec.text);
  }
  std::lock_guard<std::mutex> guard{mtx_};
  fill_prompts(*pack);
  packs_[business_id] = entry{pack, spec, std::chrono::steady_clock::now()};
  return pack;
}

void voice_cache::forget(std::int64_t business_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  packs_.erase(business_id);
}

std::size_t voice_cache::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return packs_.size();
}

} // namespace al
