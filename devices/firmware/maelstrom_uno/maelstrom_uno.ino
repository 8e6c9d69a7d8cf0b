// Maelstrom board firmware for the Arduino Uno (ATmega328P).
//
// USB serial at 57600 baud; relays and switch inputs on pins 2-7; DS18B20 probes on one 1-Wire
// bus on pin 8 (4.7 kOhm pull-up to 5 V); slot configuration in EEPROM; a 4 s hardware watchdog. Every
// rule lives in the core (../core), which the host tests run against the scenarios; this
// file only connects it to the hardware. See ../README.md for building and wiring.
#include <Arduino.h>
#include <EEPROM.h>
#include <avr/wdt.h>

#include "maelstrom_board.h"
#include "sensor_bus.h"

namespace {

const uint8_t ONE_WIRE_PIN = 8;
const uint8_t OUTPUT_PINS[] = {2, 3, 4, 5, 6, 7};
const uint16_t EEPROM_ADDRESS = 0;
const uint16_t RESET_MAGIC = 0xB007;  // survives the deliberate watchdog reset of `r`

MAELSTROM_TEXT(kBoardName, "uno");
MAELSTROM_TEXT(kVersion, "1.0.0");

}  // namespace

// Reset cause, captured before main(): Optiboot hands MCUSR over in r2 (and clears the
// register), other bootloaders leave it in MCUSR. The watchdog stays armed across a watchdog
// reset, so it is switched off here, before anything slow runs.
uint8_t resetFlags __attribute__((section(".noinit")));
uint16_t resetMagic __attribute__((section(".noinit")));

void captureResetFlags() __attribute__((naked, used, section(".init3")));
void captureResetFlags() {
  __asm__ __volatile__("sts %0, r2\n" : "=m"(resetFlags));
  resetFlags |= MCUSR;
  MCUSR = 0;
  wdt_disable();
}

namespace {

SensorBus sensors(ONE_WIRE_PIN);

class UnoIo : public maelstrom::BoardIo {
 public:
  void drivePin(uint8_t pin, bool high) {
    digitalWrite(pin, high ? HIGH : LOW);  // level first, then output: no glitch on active-low boards
    pinMode(pin, OUTPUT);
  }
  void releasePin(uint8_t pin) { pinMode(pin, INPUT); }
  void inputPin(uint8_t pin) { pinMode(pin, INPUT_PULLUP); }  // a switch to GND closes it
  bool readPin(uint8_t pin) { return digitalRead(pin) == HIGH; }
  void outputChanged(uint32_t, uint8_t, uint8_t, bool) {}
  maelstrom::SensorSample readSensor(const uint8_t rom[8]) { return sensors.sample(rom); }
  uint8_t findSensors(uint8_t roms[][8], uint8_t max) { return sensors.search(roms, max); }
  void sendLine(const char* line, uint16_t length) { Serial.write(reinterpret_cast<const uint8_t*>(line), length); }
  void saveConfig(const uint8_t* data, uint16_t length) {
    for (uint16_t i = 0; i < length; ++i) EEPROM.update(EEPROM_ADDRESS + i, data[i]);
  }
};

UnoIo io;
const maelstrom::BoardInfo info = {kBoardName, kVersion, OUTPUT_PINS, sizeof(OUTPUT_PINS)};
maelstrom::Board board(info, io);

char line[maelstrom::MAX_LINE + 1];
uint16_t lineLength = 0;
bool lineTooLong = false;

maelstrom::BootReason bootReason() {
  if ((resetFlags & _BV(WDRF)) && resetMagic == RESET_MAGIC) return maelstrom::BOOT_RESET;
  if (resetFlags & _BV(WDRF)) return maelstrom::BOOT_WATCHDOG;
  if ((resetFlags & _BV(EXTRF)) && !(resetFlags & (_BV(PORF) | _BV(BORF)))) return maelstrom::BOOT_RESET;
  return maelstrom::BOOT_POWER;  // also when the bootloader kept the flags to itself
}

void resetNow() {
  resetMagic = RESET_MAGIC;
  Serial.flush();
  wdt_enable(WDTO_15MS);
  for (;;) {
  }
}

void readSerial() {
  while (Serial.available() > 0) {
    char c = static_cast<char>(Serial.read());
    if (c != '\n') {
      if (lineLength < sizeof(line)) {
        line[lineLength++] = c;
      } else {
        lineTooLong = true;  // over MAX_LINE + '\r': read to the end of the line, refuse it once
      }
      continue;
    }
    uint32_t now = millis();
    if (lineTooLong) {
      board.lineTooLong(now);
    } else if (board.handleLine(line, lineLength, now) == maelstrom::LINE_RESET) {
      resetNow();
    }
    lineLength = 0;
    lineTooLong = false;
  }
}

}  // namespace

void setup() {
  maelstrom::BootReason reason = bootReason();
  resetMagic = 0;
  Serial.begin(57600);
  uint8_t image[maelstrom::CONFIG_BYTES];
  for (uint16_t i = 0; i < sizeof(image); ++i) image[i] = EEPROM.read(EEPROM_ADDRESS + i);
  board.loadConfig(image, sizeof(image));
  sensors.begin(millis());
  board.boot(millis(), reason);
  wdt_enable(WDTO_4S);
}

void loop() {
  wdt_reset();
  uint32_t now = millis();
  sensors.poll(now);
  board.poll(now);
  readSerial();
}
