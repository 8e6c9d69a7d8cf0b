#include "sensor_bus.h"

namespace {

const uint8_t CONVERT_T = 0x44;
const uint8_t READ_SCRATCHPAD = 0xBE;
const uint8_t DS18B20_FAMILY = 0x28;
const uint32_t CYCLE_MS = 1000;
const uint32_t CONVERSION_MS = 800;
const uint32_t SEARCH_EVERY_MS = 60000UL;

bool sameRom(const uint8_t* a, const uint8_t* b) {
  for (uint8_t i = 0; i < 8; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace

SensorBus::SensorBus(uint8_t pin) : wire_(pin), count_(0), converting_(false), convertMs_(0), searchMs_(0) {}

void SensorBus::begin(uint32_t now) {
  uint8_t ignored[MAX_PROBES][8];
  search(ignored, MAX_PROBES);
  searchMs_ = now;
  convertMs_ = now - CYCLE_MS;
}

uint8_t SensorBus::search(uint8_t roms[][8], uint8_t max) {
  uint8_t found[MAX_PROBES][8];
  uint8_t count = 0;
  uint8_t rom[8];
  wire_.reset_search();
  while (count < MAX_PROBES && wire_.search(rom)) {
    if (rom[0] != DS18B20_FAMILY || maelstrom::crc8(rom, 7) != rom[7]) continue;
    for (uint8_t i = 0; i < 8; ++i) found[count][i] = rom[i];
    ++count;
  }
  // Keep the last readings of probes found again; a new probe reads "no answer" until its
  // first conversion has been read.
  maelstrom::SensorSample samples[MAX_PROBES];
  for (uint8_t n = 0; n < count; ++n) {
    maelstrom::SensorSample none = {true, maelstrom::NO_ANSWER_E4};
    samples[n] = none;
    for (uint8_t o = 0; o < count_; ++o) {
      if (sameRom(found[n], roms_[o])) samples[n] = samples_[o];
    }
  }
  for (uint8_t n = 0; n < count; ++n) {
    for (uint8_t i = 0; i < 8; ++i) roms_[n][i] = found[n][i];
    samples_[n] = samples[n];
    if (n < max) {
      for (uint8_t i = 0; i < 8; ++i) roms[n][i] = found[n][i];
    }
  }
  count_ = count;
  return count < max ? count : max;
}

void SensorBus::poll(uint32_t now) {
  if (converting_) {
    if (now - convertMs_ < CONVERSION_MS) return;
    for (uint8_t n = 0; n < count_; ++n) samples_[n] = readScratchpad(roms_[n]);
    converting_ = false;
    if (now - searchMs_ >= SEARCH_EVERY_MS) {
      uint8_t ignored[MAX_PROBES][8];
      search(ignored, MAX_PROBES);
      searchMs_ = now;
    }
    return;
  }
  if (now - convertMs_ < CYCLE_MS || count_ == 0) return;
  if (wire_.reset()) {
    wire_.skip();
    wire_.write(CONVERT_T, 1);  // 1: keep the bus driven high for parasite-powered probes
    converting_ = true;
  }
  convertMs_ = now;
}

maelstrom::SensorSample SensorBus::readScratchpad(const uint8_t rom[8]) {
  maelstrom::SensorSample result = {true, maelstrom::NO_ANSWER_E4};
  if (!wire_.reset()) return result;
  wire_.select(rom);
  wire_.write(READ_SCRATCHPAD);
  uint8_t data[9];
  bool allOnes = true;
  bool allZeros = true;
  for (uint8_t i = 0; i < 9; ++i) {
    data[i] = wire_.read();
    allOnes = allOnes && data[i] == 0xFF;
    allZeros = allZeros && data[i] == 0x00;
  }
  // All ones: nobody answered. All zeros: the bus is shorted, and zeros pass the CRC.
  if (allOnes || allZeros) return result;
  if (maelstrom::crc8(data, 8) != data[8]) {
    result.crcOk = false;
    return result;
  }
  int16_t raw = static_cast<int16_t>((static_cast<uint16_t>(data[1]) << 8) | data[0]);
  result.e4 = static_cast<int32_t>(raw) * 625;  // 1/16 °C per count
  return result;
}

maelstrom::SensorSample SensorBus::sample(const uint8_t rom[8]) const {
  for (uint8_t n = 0; n < count_; ++n) {
    if (sameRom(rom, roms_[n])) return samples_[n];
  }
  maelstrom::SensorSample none = {true, maelstrom::NO_ANSWER_E4};
  return none;
}
