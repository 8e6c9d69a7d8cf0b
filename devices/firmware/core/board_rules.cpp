#include "board_rules.h"

namespace maelstrom {

namespace {

// Once a relay has kept its state this long, every limit has passed; from then on the
// elapsed time is not recomputed, so a uint32_t clock that wraps cannot make it young again.
const uint32_t AGE_MS = 100000000UL;

uint32_t left(uint32_t limitMs, uint32_t elapsedMs) { return limitMs > elapsedMs ? limitMs - elapsedMs : 0; }

}  // namespace

bool sameConfig(const SlotConfig& a, const SlotConfig& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == KIND_OUTPUT) {
    const OutputConfig& x = a.output;
    const OutputConfig& y = b.output;
    return x.pin == y.pin && x.invert == y.invert && x.group == y.group && x.minOnS == y.minOnS &&
           x.minOffS == y.minOffS && x.deadS == y.deadS;
  }
  if (a.kind == KIND_INPUT) return a.input.pin == b.input.pin && a.input.invert == b.input.invert;
  if (a.kind == KIND_SENSOR) {
    for (uint8_t i = 0; i < 8; ++i) {
      if (a.sensor.rom[i] != b.sensor.rom[i]) return false;
    }
    return a.sensor.offsetC100 == b.sensor.offsetC100;
  }
  return true;
}

BoardRules::BoardRules(const uint8_t* pins, uint8_t pinCount, PinDriver& driver)
    : pinCount_(pinCount > MAX_PINS ? MAX_PINS : pinCount),
      driver_(driver),
      deadmanMs_(0),
      fedMs_(0),
      tripped_(false),
      powerUpWindow_(true),
      bootMs_(0),
      secondMs_(0),
      uptimeS_(0) {
  for (uint8_t i = 0; i < MAX_SLOTS; ++i) slots_[i].kind = KIND_NONE;
  for (uint8_t i = 0; i < pinCount_; ++i) {
    pins_[i] = pins[i];
    relays_[i].pin = pins[i];
    relays_[i].on = false;
    relays_[i].aged = false;
    relays_[i].pendingOff = false;
    relays_[i].changedMs = 0;
  }
}

void BoardRules::boot(uint32_t now) {
  for (uint8_t i = 0; i < pinCount_; ++i) {
    relays_[i].on = false;
    relays_[i].aged = false;
    relays_[i].pendingOff = false;
    relays_[i].changedMs = now;  // min off and dead time count from boot
  }
  for (uint8_t n = 1; n <= MAX_SLOTS; ++n) setUp(n);
  deadmanMs_ = 0;
  tripped_ = false;
  powerUpWindow_ = true;
  bootMs_ = now;
  secondMs_ = now;
  uptimeS_ = 0;
}

void BoardRules::powerDown(uint32_t now) {
  for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
    if (outputOn(n)) switchOutput(n, false, now);
  }
}

bool BoardRules::tick(uint32_t now) {
  uint32_t seconds = (now - secondMs_) / 1000UL;
  uptimeS_ += seconds;
  secondMs_ += seconds * 1000UL;
  if (powerUpWindow_ && now - bootMs_ >= POWER_UP_MS) powerUpWindow_ = false;
  for (uint8_t i = 0; i < pinCount_; ++i) {
    if (!relays_[i].aged && now - relays_[i].changedMs >= AGE_MS) relays_[i].aged = true;
  }
  bool trip = deadmanMs_ != 0 && !tripped_ && now - fedMs_ >= deadmanMs_;
  if (trip) {
    tripped_ = true;
    for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
      if (!outputOn(n)) continue;
      if (minOnLeft(n, now) == 0) {
        switchOutput(n, false, now);
      } else {
        relay(slot(n).output.pin)->pendingOff = true;
      }
    }
  }
  for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
    if (pendingOff(n) && minOnLeft(n, now) == 0) switchOutput(n, false, now);
  }
  return trip;
}

void BoardRules::feedDeadman(uint32_t now) {
  fedMs_ = now;
  tripped_ = false;
}

bool BoardRules::isBoardPin(uint8_t pin) const { return relay(pin) != 0; }

BoardRules::Relay* BoardRules::relay(uint8_t pin) {
  for (uint8_t i = 0; i < pinCount_; ++i) {
    if (relays_[i].pin == pin) return &relays_[i];
  }
  return 0;
}

const BoardRules::Relay* BoardRules::relay(uint8_t pin) const {
  for (uint8_t i = 0; i < pinCount_; ++i) {
    if (relays_[i].pin == pin) return &relays_[i];
  }
  return 0;
}

uint32_t BoardRules::elapsed(const Relay& r, uint32_t now) const {
  if (r.aged) return AGE_MS;
  uint32_t since = now - r.changedMs;
  return since > AGE_MS ? AGE_MS : since;
}

namespace {

// The pin an output or input slot uses; false for a sensor or a free slot.
bool slotPin(const SlotConfig& config, uint8_t& pin) {
  if (config.kind == KIND_OUTPUT) {
    pin = config.output.pin;
    return true;
  }
  if (config.kind == KIND_INPUT) {
    pin = config.input.pin;
    return true;
  }
  return false;
}

}  // namespace

ConfigResult BoardRules::configure(uint8_t number, const SlotConfig& config, uint8_t& other) {
  SlotConfig& current = slots_[number - 1];
  uint8_t pin = 0;
  if (slotPin(config, pin)) {
    for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {  // one slot per pin, output or input
      uint8_t used = 0;
      if (n != number && slotPin(slot(n), used) && used == pin) {
        other = n;
        return CONFIG_PIN_USED;
      }
    }
  }
  if (config.kind == KIND_OUTPUT) {
    uint8_t outputs = 0;
    for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
      if (slot(n).kind == KIND_OUTPUT) ++outputs;
    }
    if (current.kind != KIND_OUTPUT && outputs >= MAX_OUTPUTS) return CONFIG_TOO_MANY_OUTPUTS;
  }
  if (sameConfig(current, config)) return CONFIG_OK;
  if (outputOn(number)) return CONFIG_OUTPUT_ON;
  uint8_t released = 0;
  if (slotPin(current, released)) driver_.releasePin(released);
  current = config;
  setUp(number);
  return CONFIG_OK;
}

bool BoardRules::outputOn(uint8_t number) const {
  const SlotConfig& config = slot(number);
  return config.kind == KIND_OUTPUT && relay(config.output.pin)->on;
}

bool BoardRules::pendingOff(uint8_t number) const {
  const SlotConfig& config = slot(number);
  return config.kind == KIND_OUTPUT && relay(config.output.pin)->pendingOff;
}

bool BoardRules::pinLevel(uint8_t pin) const {
  for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
    const SlotConfig& config = slot(n);
    if (config.kind == KIND_OUTPUT && config.output.pin == pin) return relay(pin)->on != config.output.invert;
  }
  return false;
}

uint32_t BoardRules::minOnLeft(uint8_t number, uint32_t now) const {
  const OutputConfig& config = slot(number).output;
  return left(config.minOnS * 1000UL, elapsed(*relay(config.pin), now));
}

Hold BoardRules::hold(uint8_t number, uint32_t now) const {
  const OutputConfig& config = slot(number).output;
  const Relay& own = *relay(config.pin);
  Hold result = {WHY_NONE, 0};
  if (own.on) {
    result.ms = minOnLeft(number, now);
    if (result.ms > 0) result.why = WHY_MIN_ON;
    return result;
  }
#if !defined(MAELSTROM_BREAK_MIN_OFF)  // a deliberately broken build: the tests must notice
  result.ms = left(config.minOffS * 1000UL, elapsed(own, now));
  if (result.ms > 0) result.why = WHY_MIN_OFF;
#endif
  bool interlock = false;
  uint32_t interlockMs = 0;
  for (uint8_t n = 1; n <= MAX_SLOTS; ++n) {
    const SlotConfig& other = slot(n);
    if (n == number || config.group == 0 || other.kind != KIND_OUTPUT || other.output.group != config.group) {
      continue;
    }
    uint32_t deadMs = (config.deadS > other.output.deadS ? config.deadS : other.output.deadS) * 1000UL;
    const Relay& theirs = *relay(other.output.pin);
    if (theirs.on) {
      // the earliest the other one could be off, plus the dead time after it
      uint32_t waitMs = minOnLeft(n, now) + deadMs;
      interlock = true;
      if (waitMs > interlockMs) interlockMs = waitMs;
    } else {
      uint32_t deadLeft = left(deadMs, elapsed(theirs, now));
      if (deadLeft > result.ms) {
        result.why = WHY_DEAD_TIME;
        result.ms = deadLeft;
      }
    }
  }
  if (interlock) {
    result.why = WHY_INTERLOCK;
    if (interlockMs > result.ms) result.ms = interlockMs;
  }
  return result;
}

void BoardRules::request(uint8_t number, bool on, uint32_t now) {
  Relay& own = *relay(slot(number).output.pin);
  if (on) own.pendingOff = false;  // the host wants it on: the dead-man's deferred off is void
  if (on != own.on && hold(number, now).why == WHY_NONE) switchOutput(number, on, now);
}

void BoardRules::setUp(uint8_t number) {
  const SlotConfig& config = slot(number);
  if (config.kind == KIND_OUTPUT) drive(number);
  if (config.kind == KIND_INPUT) driver_.inputPin(config.input.pin);
}

void BoardRules::drive(uint8_t number) {
  const OutputConfig& config = slot(number).output;
  driver_.drivePin(config.pin, relay(config.pin)->on != config.invert);
}

void BoardRules::switchOutput(uint8_t number, bool on, uint32_t now) {
  const OutputConfig& config = slot(number).output;
  Relay& own = *relay(config.pin);
  own.on = on;
  own.changedMs = now;
  own.aged = false;
  own.pendingOff = false;
  drive(number);
  driver_.outputChanged(now, number, config.pin, on);
}

bool BoardRules::sensorValue(const SensorSample& sample, int16_t offsetC100, int32_t& hundredths) const {
  if (!sample.crcOk || sample.e4 == NO_ANSWER_E4) return false;
  if (sample.e4 == POWER_ON_E4 && powerUpWindow_) return false;
  int32_t value = sample.e4 + offsetC100 * 100L;
  int32_t magnitude = value < 0 ? -value : value;
  int32_t rounded = magnitude / 100 + (magnitude % 100 >= 50 ? 1 : 0);  // half away from zero
  hundredths = value < 0 ? -rounded : rounded;
  return true;
}

}  // namespace maelstrom
