// The board's safety rules, free of any hardware: outputs off at boot, min on / min off per
// output, at most one output on per group with a dead time between them, the dead-man, and
// sensor readings that cannot be trusted. Input slots (switches) share the board's pins with
// the outputs, one slot per pin. Time is a uint32_t count of milliseconds passed in
// by the caller; it may wrap (every 49.7 days) as long as tick() runs at least once a day.
//
// The same rules run in Python (devices/simulator/firmware.py); the scenarios in
// devices/firmware/scenarios/ hold both to one set of expectations.
#ifndef MAELSTROM_BOARD_RULES_H
#define MAELSTROM_BOARD_RULES_H

#include <stdint.h>

namespace maelstrom {

const uint8_t MAX_SLOTS = 8;  // slots 1-8
const uint8_t MAX_OUTPUTS = 6;  // so that every T: reply fits in one line
const uint8_t MAX_PINS = 20;  // output-capable pins a board may offer
const uint32_t MAX_TIME_S = 86400UL;  // min_on_s, min_off_s, dead_s
const uint32_t POWER_UP_MS = 10000UL;  // a DS18B20 may read 85 °C this long after power-up
const int32_t NO_ANSWER_E4 = -1270000L;  // -127 °C in 1e-4 °C: the probe did not answer
const int32_t POWER_ON_E4 = 850000L;  // 85 °C in 1e-4 °C: the scratchpad's reset value

enum SlotKind { KIND_NONE = 0, KIND_SENSOR = 1, KIND_OUTPUT = 2, KIND_INPUT = 3 };
enum Why { WHY_NONE, WHY_MIN_ON, WHY_MIN_OFF, WHY_INTERLOCK, WHY_DEAD_TIME };

struct OutputConfig {
  uint8_t pin;
  bool invert;  // the relay is energised by a low pin (active-low relay boards)
  uint8_t group;  // 0 = no group
  uint32_t minOnS;
  uint32_t minOffS;
  uint32_t deadS;
};

// A switch on a pin with the pull-up on: a closed contact pulls the pin low and reads active;
// `invert` for a normally-closed switch (active when the contact is open, the pin high).
struct InputConfig {
  uint8_t pin;
  bool invert;
};

inline bool inputActive(const InputConfig& config, bool pinHigh) { return pinHigh == config.invert; }

struct SensorConfig {
  uint8_t rom[8];
  int16_t offsetC100;  // calibration offset, hundredths of °C
};

struct SlotConfig {
  uint8_t kind;  // SlotKind
  OutputConfig output;
  SensorConfig sensor;
  InputConfig input;
};

bool sameConfig(const SlotConfig& a, const SlotConfig& b);

// What a raw DS18B20 read gave: a failed scratchpad CRC, or a temperature in 1e-4 °C.
struct SensorSample {
  bool crcOk;
  int32_t e4;
};

// Why the output cannot change state now (WHY_NONE: it can), and for how many ms.
struct Hold {
  uint8_t why;
  uint32_t ms;
};

// Where the rules' decisions go: pins to drive, and every output change for the audit log.
class PinDriver {
 public:
  virtual void drivePin(uint8_t pin, bool high) = 0;
  virtual void releasePin(uint8_t pin) = 0;  // back to a plain input, no pull-up
  virtual void inputPin(uint8_t pin) = 0;  // an input with its pull-up on, for a switch
  virtual void outputChanged(uint32_t now, uint8_t slot, uint8_t pin, bool on) = 0;

 protected:
  ~PinDriver() {}
};

enum ConfigResult { CONFIG_OK, CONFIG_PIN_USED, CONFIG_TOO_MANY_OUTPUTS, CONFIG_OUTPUT_ON };

class BoardRules {
 public:
  BoardRules(const uint8_t* pins, uint8_t pinCount, PinDriver& driver);

  // Power-up: every relay off and every timer counted from `now`; configured pins driven off.
  void boot(uint32_t now);
  // Every output off now, whatever its min on (the board is about to reset).
  void powerDown(uint32_t now);
  // Runs the timers; true when the dead-man tripped just now.
  bool tick(uint32_t now);

  bool isBoardPin(uint8_t pin) const;
  const uint8_t* pins() const { return pins_; }
  uint8_t pinCount() const { return pinCount_; }
  const SlotConfig& slot(uint8_t number) const { return slots_[number - 1]; }
  // Checks a new configuration for a slot against the others and applies it; `other` names
  // the slot (output or input) already using the pin. Field ranges are the caller's to check.
  ConfigResult configure(uint8_t number, const SlotConfig& config, uint8_t& other);

  bool outputOn(uint8_t number) const;
  bool pendingOff(uint8_t number) const;
  bool pinLevel(uint8_t pin) const;  // electrical, invert applied; unused pins read low
  Hold hold(uint8_t number, uint32_t now) const;
  // Switches the output if the rules allow it; the caller reads the outcome with outputOn/hold.
  void request(uint8_t number, bool on, uint32_t now);
  uint32_t minOnLeft(uint8_t number, uint32_t now) const;

  void armDeadman(uint16_t seconds) { deadmanMs_ = seconds * 1000UL; }
  void feedDeadman(uint32_t now);
  uint16_t deadmanSeconds() const { return static_cast<uint16_t>(deadmanMs_ / 1000UL); }

  // The reading to report, in hundredths of °C, or false for null.
  bool sensorValue(const SensorSample& sample, int16_t offsetC100, int32_t& hundredths) const;
  uint32_t uptimeSeconds() const { return uptimeS_; }

 private:
  struct Relay {
    uint8_t pin;
    bool on;
    bool aged;  // unchanged for longer than any limit: elapsed() no longer needs changedMs
    bool pendingOff;  // the dead-man wants it off once its min on has passed
    uint32_t changedMs;
  };

  Relay* relay(uint8_t pin);
  const Relay* relay(uint8_t pin) const;
  uint32_t elapsed(const Relay& relay, uint32_t now) const;
  void drive(uint8_t number);
  void setUp(uint8_t number);  // drive an output's pin, or pull an input's up
  void switchOutput(uint8_t number, bool on, uint32_t now);

  SlotConfig slots_[MAX_SLOTS];
  Relay relays_[MAX_PINS];
  uint8_t pins_[MAX_PINS];
  uint8_t pinCount_;
  PinDriver& driver_;
  uint32_t deadmanMs_;  // 0 = disarmed
  uint32_t fedMs_;
  bool tripped_;
  bool powerUpWindow_;
  uint32_t bootMs_;
  uint32_t secondMs_;  // uptime counts whole seconds from here
  uint32_t uptimeS_;
};

}  // namespace maelstrom

#endif
