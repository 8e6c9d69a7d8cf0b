// One Maelstrom board: the board protocol (protocol.md §5) on top of the rules.
//
// The sketch (or the host scenario runner) owns the hardware: it passes every received line
// to handleLine(), calls poll() from its loop, and implements BoardIo. Nothing here touches
// a pin, a port or the EEPROM directly.
#ifndef MAELSTROM_BOARD_H
#define MAELSTROM_BOARD_H

#include <stdint.h>

#include "board_rules.h"
#include "flash_text.h"
#include "protocol_line.h"

namespace maelstrom {

const uint8_t MAX_ROMS_LISTED = 8;  // the H: reply lists at most this many 1-Wire ROMs
const uint8_t CONFIG_VERSION = 1;
const uint16_t CONFIG_RECORD = 16;
const uint16_t CONFIG_BYTES = 1 + MAX_SLOTS * CONFIG_RECORD + 1;  // version, slots, CRC-8

class BoardIo : public PinDriver {
 public:
  // The last conversion of the DS18B20 with this ROM; {true, NO_ANSWER_E4} when none answers.
  virtual SensorSample readSensor(const uint8_t rom[8]) = 0;
  // The electrical level of an input slot's pin (true = high), read with its pull-up on.
  virtual bool readPin(uint8_t pin) = 0;
  // The ROMs a 1-Wire search finds, at most `max`.
  virtual uint8_t findSensors(uint8_t roms[][8], uint8_t max) = 0;
  virtual void sendLine(const char* line, uint16_t length) = 0;
  // The slot configuration changed: keep these bytes (EEPROM) and give them to loadConfig().
  virtual void saveConfig(const uint8_t* data, uint16_t length) = 0;

 protected:
  ~BoardIo() {}
};

struct BoardInfo {
  FlashText name;  // "uno", "spark", ...
  FlashText version;  // firmware version, "1.0.0"
  const uint8_t* pins;  // the pins an output or an input slot may use
  uint8_t pinCount;
};

enum BootReason { BOOT_POWER, BOOT_WATCHDOG, BOOT_RESET };
enum LineResult { LINE_DONE, LINE_RESET };  // LINE_RESET: outputs are off, reset the MCU now
enum LoadResult { LOAD_OK, LOAD_BLANK, LOAD_INVALID };

uint8_t crc8(const uint8_t* data, uint16_t length);  // Dallas/Maxim, as 1-Wire uses

class Board {
 public:
  Board(const BoardInfo& info, BoardIo& io);

  // Before boot(): the bytes saveConfig() was given last time (a blank or damaged image
  // leaves every slot empty; boot() then says so in a D: line when it was damaged).
  LoadResult loadConfig(const uint8_t* data, uint16_t length);
  uint16_t exportConfig(uint8_t* data) const;  // CONFIG_BYTES

  void boot(uint32_t now, BootReason reason);
  // One received line without its newline; `line` is modified.
  LineResult handleLine(char* line, uint16_t length, uint32_t now);
  // The line reader dropped a line longer than MAX_LINE.
  void lineTooLong(uint32_t now);
  void poll(uint32_t now);
  void powerDown(uint32_t now) { rules_.powerDown(now); }

  bool outputOn(uint8_t slot) const { return rules_.outputOn(slot); }
  bool pinLevel(uint8_t pin) const { return rules_.pinLevel(pin); }

 private:
  bool command(char letter, const JsonObject& body, uint32_t now);
  bool configure(const JsonObject& body);
  bool setOutput(const JsonObject& body, uint32_t now);
  bool slotNumber(const JsonObject& body, uint8_t& slot);
  void identify();
  void scan();
  void read(uint32_t now);
  void writeSlot(uint8_t slot);
  void writeHold(uint8_t slot, uint32_t now, bool withWhy);
  void writeRom(const uint8_t rom[8]);
  void startError(FlashText code);
  void endError();
  bool fail(FlashText code, FlashText message);
  bool failNumbered(FlashText code, FlashText before, uint8_t number, FlashText after);
  void send();

  BoardInfo info_;
  BoardIo& io_;
  BoardRules rules_;
  LineWriter out_;
  bool configDamaged_;
};

}  // namespace maelstrom

#endif
