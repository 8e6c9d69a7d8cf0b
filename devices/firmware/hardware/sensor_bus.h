// DS18B20 probes on one 1-Wire bus, read without blocking the loop.
//
// Once a second every probe is told to convert (one "skip ROM, convert T" for the whole bus);
// 800 ms later (a 12-bit conversion takes up to 750 ms) each known probe's scratchpad is read
// and CRC-checked. The board's `t` command then reports the last reading at once. The bus is
// searched at start-up, on every `h`, and once a minute, so a probe plugged in later appears.
//
// Works with powered probes (3 wires) and with parasite power: the conversion is started with
// the bus held high and nothing else talks on the bus until it has finished.
#ifndef MAELSTROM_SENSOR_BUS_H
#define MAELSTROM_SENSOR_BUS_H

#include <OneWire.h>
#include <stdint.h>

#include "maelstrom_board.h"

class SensorBus {
 public:
  static const uint8_t MAX_PROBES = 8;

  explicit SensorBus(uint8_t pin);

  void begin(uint32_t now);
  void poll(uint32_t now);
  // Searches the bus now; copies up to `max` ROMs into `roms`.
  uint8_t search(uint8_t roms[][8], uint8_t max);
  maelstrom::SensorSample sample(const uint8_t rom[8]) const;

 private:
  maelstrom::SensorSample readScratchpad(const uint8_t rom[8]);

  OneWire wire_;
  uint8_t roms_[MAX_PROBES][8];
  maelstrom::SensorSample samples_[MAX_PROBES];
  uint8_t count_;
  bool converting_;
  uint32_t convertMs_;
  uint32_t searchMs_;
};

#endif
