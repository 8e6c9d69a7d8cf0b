// Runs a scenario file (devices/firmware/scenarios/*.txt) against the C++ core on the host
// and prints its transcript, in the same form as the Python runner in
// tests/devices/test_firmware_rules.py, which also checks the expectations:
//
//   <scenario line> line <what the board sent, without the newline>
//   <scenario line> edge <ms> <slot> <pin> on|off
//   <scenario line> pin <pin> on|off          (the answer to expect_pin)
//   <scenario line> output <slot> on|off      (the answer to expect_output)
//
// The virtual clock is kept in 64 bits and handed to the core as the wrapping uint32_t
// millisecond count a board's millis() gives. Every boot builds a new Board from the saved
// configuration image, as a real reset does from EEPROM.
//
//   g++ -std=c++11 -Wall -Wextra -Werror -O1 -Icore core/*.cpp host/scenario_runner.cpp -o runner
//   ./runner scenarios/deadman.txt
#include <stdint.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "maelstrom_board.h"

using namespace maelstrom;

namespace {

MAELSTROM_TEXT(kBoardName, "host");
MAELSTROM_TEXT(kVersion, "1.0.0");

std::string romHex(const uint8_t rom[8]) {
  static const char digits[] = "0123456789ABCDEF";
  std::string hex;
  for (int i = 0; i < 8; ++i) {
    hex += digits[rom[i] >> 4];
    hex += digits[rom[i] & 0x0F];
  }
  return hex;
}

bool romBytes(const std::string& hex, uint8_t rom[8]) {
  if (hex.size() != 16) return false;
  for (int i = 0; i < 8; ++i) rom[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), 0, 16));
  return true;
}

// "12.5" seconds -> 12500 ms
uint64_t parseMs(const std::string& text) {
  std::string whole = text;
  std::string fraction;
  size_t dot = text.find('.');
  if (dot != std::string::npos) {
    whole = text.substr(0, dot);
    fraction = text.substr(dot + 1);
  }
  if (fraction.size() > 3) throw std::runtime_error("time finer than 1 ms: " + text);
  while (fraction.size() < 3) fraction += '0';
  return std::stoull(whole) * 1000 + std::stoull(fraction);
}

class HostIo : public BoardIo {
 public:
  HostIo() : now(0) {}

  void drivePin(uint8_t, bool) {}
  void releasePin(uint8_t) {}
  void inputPin(uint8_t) {}

  // A pin nothing pulls low reads high: the input's pull-up.
  bool readPin(uint8_t pin) {
    std::map<int, bool>::const_iterator found = levels.find(pin);
    return found == levels.end() || found->second;
  }

  void outputChanged(uint32_t, uint8_t slot, uint8_t pin, bool on) {
    std::ostringstream edge;
    edge << "edge " << now << ' ' << int(slot) << ' ' << int(pin) << ' ' << (on ? "on" : "off");
    edges.push_back(edge.str());
  }

  SensorSample readSensor(const uint8_t rom[8]) {
    SensorSample sample = {true, NO_ANSWER_E4};
    std::map<std::string, std::string>::const_iterator found = readings.find(romHex(rom));
    if (found == readings.end()) return sample;
    if (found->second == "crc") {
      sample.crcOk = false;
    } else {
      sample.e4 = numberToFixed(found->second.data(), static_cast<uint8_t>(found->second.size()), 4);
    }
    return sample;
  }

  uint8_t findSensors(uint8_t roms[][8], uint8_t max) {
    uint8_t count = 0;
    for (size_t i = 0; i < bus.size() && count < max; ++i) {
      if (romBytes(bus[i], roms[count])) ++count;
    }
    return count;
  }

  void sendLine(const char* line, uint16_t length) { lines.push_back(std::string(line, length - 1)); }

  void saveConfig(const uint8_t* data, uint16_t length) { eeprom.assign(data, data + length); }

  uint64_t now;
  std::vector<std::string> bus;  // ROMs on the 1-Wire bus
  std::map<std::string, std::string> readings;  // ROM -> "crc" or °C
  std::map<int, bool> levels;  // pin -> high, as a switch leaves it
  std::vector<uint8_t> eeprom;
  std::vector<std::string> lines;  // sent since the last flush
  std::vector<std::string> edges;
};

class Runner {
 public:
  Runner() : pins_({2, 3, 4, 5, 6, 7}) {}

  void run(std::istream& in) {
    std::string text;
    int number = 0;
    while (std::getline(in, text)) {
      ++number;
      size_t start = text.find_first_not_of(" \t");
      if (start == std::string::npos || text[start] == '#') continue;
      std::string word = before(text, ' ');
      std::string rest = after(text, ' ');
      if (word == "at") {
        directive(number, "at", before(rest, ' '));
        rest = after(rest, ' ');
        if (rest.empty()) continue;
        word = before(rest, ' ');
        rest = after(rest, ' ');
      }
      directive(number, word, rest);
    }
  }

 private:
  static std::string before(const std::string& text, char separator) { return text.substr(0, text.find(separator)); }

  static std::string after(const std::string& text, char separator) {
    size_t at = text.find(separator);
    return at == std::string::npos ? std::string() : text.substr(at + 1);
  }

  uint32_t clock() const { return static_cast<uint32_t>(io_.now); }  // millis() wraps

  void directive(int number, const std::string& word, const std::string& rest) {
    std::istringstream args(rest);
    if (word == "pins") {
      pins_.clear();
      int pin;
      while (args >> pin) pins_.push_back(static_cast<uint8_t>(pin));
    } else if (word == "rom" || word == "sensor") {
      std::string rom, reading;
      args >> rom >> reading;
      if (word == "rom") io_.bus.push_back(rom);
      io_.readings[rom] = reading.empty() ? "20.0" : reading;
    } else if (word == "input") {
      int pin;
      std::string level;
      args >> pin >> level;
      if (level != "high" && level != "low") throw std::runtime_error("input level must be high or low");
      io_.levels[pin] = level == "high";
    } else if (word == "at") {
      io_.now = parseMs(rest);
      if (board_) board_->poll(clock());
    } else if (word == "boot") {
      reboot(rest == "watchdog" ? BOOT_WATCHDOG : rest == "reset" ? BOOT_RESET : BOOT_POWER);
    } else if (word == "send") {
      send(rest);
    } else if (word == "send_padded") {
      size_t size = std::stoul(before(rest, ' '));
      std::string line = after(rest, ' ');
      send(line.substr(0, line.size() - 1) + std::string(size - line.size(), ' ') + "}");
    } else if (word == "send_hex") {
      std::string bytes;
      for (size_t i = 0; i + 1 < rest.size(); i += 2) bytes += static_cast<char>(std::stoul(rest.substr(i, 2), 0, 16));
      send(bytes);
    } else if (word == "expect_pin") {
      int pin = std::stoi(rest);
      std::printf("%d pin %d %s\n", number, pin, board_->pinLevel(static_cast<uint8_t>(pin)) ? "on" : "off");
    } else if (word == "expect_output") {
      int slot = std::stoi(rest);
      std::printf("%d output %d %s\n", number, slot, board_->outputOn(static_cast<uint8_t>(slot)) ? "on" : "off");
    }
    flush(number);
  }

  void reboot(BootReason reason) {
    if (board_) board_->powerDown(clock());  // a reset drops every relay
    info_.name = kBoardName;
    info_.version = kVersion;
    info_.pins = pins_.data();
    info_.pinCount = static_cast<uint8_t>(pins_.size());
    board_.reset(new Board(info_, io_));
    if (!io_.eeprom.empty()) board_->loadConfig(io_.eeprom.data(), static_cast<uint16_t>(io_.eeprom.size()));
    board_->boot(clock(), reason);
  }

  void send(const std::string& line) {
    std::vector<char> buffer(line.begin(), line.end());
    buffer.push_back('\0');
    if (board_->handleLine(buffer.data(), static_cast<uint16_t>(line.size()), clock()) == LINE_RESET) {
      reboot(BOOT_RESET);
    }
  }

  void flush(int number) {
    for (size_t i = 0; i < io_.lines.size(); ++i) std::printf("%d line %s\n", number, io_.lines[i].c_str());
    for (size_t i = 0; i < io_.edges.size(); ++i) std::printf("%d %s\n", number, io_.edges[i].c_str());
    io_.lines.clear();
    io_.edges.clear();
  }

  std::vector<uint8_t> pins_;
  HostIo io_;
  BoardInfo info_;
  std::unique_ptr<Board> board_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SCENARIO\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  try {
    Runner().run(in);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", argv[1], error.what());
    return 1;
  }
  return 0;
}
