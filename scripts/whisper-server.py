"""A Wyoming speech-to-text server for short telephone turns: Whisper through
faster-whisper's CTranslate2 model, with the encoder's window sized to the
utterance instead of Whisper's fixed 30 seconds.

Whisper's encoder costs the same for a 2 s question as for 30 s of audio when
the input is padded to 30 s, as faster-whisper (and so wyoming-faster-whisper)
does: on two cores that is ~600 ms of a ~750 ms decode. Encoding a window of
`--window` seconds (10 by default, longer for a longer utterance) costs about a
sixth of that. A window shorter than 30 s makes Whisper prone to say the
sentence again at its end ("Can I pay? Can I pay"); a repeat of the sentence's
own beginning right after it is cut, and the number of new tokens is bounded by
the audio's length. On the benchmark's telephone questions this keeps the word
error rate of the 30 s window (bench/results, issue 18).

Speaks what the gateway's Wyoming adapter and wyoming-faster-whisper speak:
`describe` -> `info`; `transcribe`, `audio-start`, `audio-chunk`s, `audio-stop`
-> one `transcript`. Utterances longer than the longest window go through
faster-whisper's own long-form transcription.

    python scripts/whisper-server.py --uri tcp://127.0.0.1:10300 --model DIR \
        [--language en] [--compute-type int8] [--cpu-threads 2] [--beam-size 1] \
        [--window 10] [--initial-prompt TEXT]
"""

import argparse
import asyncio
import logging
import re
import sys
import time
from functools import partial

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, Info
from wyoming.server import AsyncEventHandler, AsyncServer

LOG = logging.getLogger("whisper-server")
RATE = 16000
# Whisper's mel frames per second and its longest window (30 s).
FRAMES_PER_SEC = 100
MAX_FRAMES = 3000
# Frames of padding after an utterance longer than the window: Whisper needs
# some quiet after the last word to end the transcript there.
TAIL_FRAMES = 200
# faster-whisper's defaults for dropping a segment that is not speech.
NO_SPEECH_PROB = 0.6
NO_SPEECH_LOGPROB = -1.0


class Transcriber:
    """One loaded model; `transcribe` is thread-safe (CTranslate2 queues)."""

    def __init__(self, args):
        self.model = WhisperModel(
            args.model,
            device="cpu",
            compute_type=args.compute_type,
            cpu_threads=args.cpu_threads,
            local_files_only=True,
        )
        self.beam_size = args.beam_size
        self.min_frames = max(1, min(MAX_FRAMES, int(args.window * FRAMES_PER_SEC)))
        self.initial_prompt = args.initial_prompt
        self.multilingual = self.model.model.is_multilingual

    def transcribe(self, audio: np.ndarray, language: str) -> str:
        """Text of `audio` (float32 at 16 kHz)."""
        features = self.model.feature_extractor(audio)
        frames = features.shape[1]
        if frames + TAIL_FRAMES > MAX_FRAMES:
            return self._long_form(audio, language)
        window = max(self.min_frames, frames + TAIL_FRAMES)
        features = np.pad(features, ((0, 0), (0, window - frames)))
        encoded = self.model.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])),
            to_cpu=False,
        )
        tokenizer = self._tokenizer(language)
        previous = tokenizer.encode(" " + self.initial_prompt.strip()) if self.initial_prompt else []
        prompt = self.model.get_prompt(tokenizer, previous, without_timestamps=True)
        seconds = len(audio) / RATE
        result = self.model.model.generate(
            encoded,
            [prompt],
            beam_size=self.beam_size,
            # Speech runs at 2-4 tokens a second; twice that and some more is
            # room for any sentence and stops a runaway repetition early.
            max_length=len(prompt) + int(12 + 8 * seconds),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])),
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        if result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < NO_SPEECH_LOGPROB:
            return ""
        return cut_repeat(tokenizer.decode(tokens).strip())

    def _long_form(self, audio: np.ndarray, language: str) -> str:
        segments, _ = self.model.transcribe(
            audio,
            language=language if self.multilingual else None,
            beam_size=self.beam_size,
            initial_prompt=self.initial_prompt,
            without_timestamps=True,
        )
        return " ".join(s.text.strip() for s in segments)

    def _tokenizer(self, language: str) -> Tokenizer:
        return Tokenizer(
            self.model.hf_tokenizer,
            self.multilingual,
            task="transcribe",
            language=language if self.multilingual else "en",
        )


def cut_repeat(text: str) -> str:
    """`text` without a repeat of its own beginning at its end.

    A short window makes Whisper say the sentence again: "Can I add a second
    line? Can I add a". The repeat starts after at least three words and
    runs to the end; a caller who really said the same words twice in one
    breath loses nothing the agent needs."""
    words = text.split()
    norm = [re.sub(r"[^a-z0-9']", "", w.lower()) for w in words]
    for start in range(3, len(words) - 1):
        rest = norm[start:]
        if rest == norm[: len(rest)]:
            return " ".join(words[:start])
    return text


class Handler(AsyncEventHandler):
    """One connection: any number of utterances, one transcript each."""

    def __init__(self, info: Event, transcriber: Transcriber, language: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.info = info
        self.transcriber = transcriber
        self.language = language
        self.default_language = language
        self.converter = AudioChunkConverter(rate=RATE, width=2, channels=1)
        self.audio = bytearray()

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(self.info)
            return True
        if Transcribe.is_type(event.type):
            self.language = Transcribe.from_event(event).language or self.default_language
            return True
        if AudioStart.is_type(event.type):
            self.audio.clear()
            return True
        if AudioChunk.is_type(event.type):
            self.audio += self.converter.convert(AudioChunk.from_event(event)).audio
            return True
        if AudioStop.is_type(event.type):
            await self.write_event(Transcript(text=await self._finish()).event())
            return False
        return True

    async def _finish(self) -> str:
        if not self.audio:
            LOG.warning("utterance with no audio")
            return ""
        pcm = np.frombuffer(bytes(self.audio), dtype=np.int16).astype(np.float32) / 32768.0
        self.audio.clear()
        started = time.monotonic()
        text = await asyncio.to_thread(self.transcriber.transcribe, pcm, self.language)
        LOG.info(
            "%.2f s of audio in %.0f ms: %s",
            len(pcm) / RATE,
            (time.monotonic() - started) * 1000,
            text,
        )
        return text


def info_event(model: str, language: str) -> Event:
    attribution = Attribution(name="OpenAI Whisper via faster-whisper", url="https://github.com/SYSTRAN/faster-whisper")
    return Info(
        asr=[
            AsrProgram(
                name="voice-gateway-whisper",
                description="Whisper with an utterance-sized encoder window",
                attribution=attribution,
                installed=True,
                version="1",
                models=[
                    AsrModel(
                        name=model,
                        description=model,
                        attribution=attribution,
                        installed=True,
                        languages=[language],
                        version=None,
                    )
                ],
            )
        ]
    ).event()


def self_test() -> None:
    """Checks `cut_repeat` (`--self-test`; tests/speech runs it)."""
    cases = {
        "Can I add a second line? Can I add a": "Can I add a second line?",
        "Are you open on Sunday? Are you open on Sunday": "Are you open on Sunday?",
        "Why was my card declined? Why was my card declined?": "Why was my card declined?",
        # Not a repeat of the beginning: kept whole.
        "Can I pay by bank transfer?": "Can I pay by bank transfer?",
        "I want to, I want to cancel": "I want to, I want to cancel",
        "No, no.": "No, no.",
        "Yes yes yes": "Yes yes yes",
        "": "",
    }
    for given, wanted in cases.items():
        got = cut_repeat(given)
        assert got == wanted, f"cut_repeat({given!r}) = {got!r}, wanted {wanted!r}"
    print(f"cut_repeat: {len(cases)} cases pass")


def main() -> None:
    if "--self-test" in sys.argv[1:]:
        self_test()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uri", required=True, help="tcp://HOST:PORT")
    parser.add_argument("--model", required=True, help="a CTranslate2 Whisper model directory")
    parser.add_argument("--language", default="en")
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--cpu-threads", type=int, default=2)
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--window", type=float, default=10.0, help="shortest encoder window, seconds (30 = Whisper's own)")
    parser.add_argument("--initial-prompt", default="")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.window <= 30:
        parser.error(f"--window {args.window}: must be between 1 and 30 seconds")
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO)

    transcriber = Transcriber(args)
    # The first decode initialises CTranslate2's kernels (~1 s): not on a call.
    transcriber.transcribe(np.zeros(RATE, dtype=np.float32), args.language)
    info = info_event(args.model.rstrip("/").rsplit("/", 1)[-1], args.language)
    server = AsyncServer.from_uri(args.uri)
    LOG.info("ready on %s (window %.1f s)", args.uri, args.window)
    asyncio.run(server.run(partial(Handler, info, transcriber, args.language)))


if __name__ == "__main__":
    main()
