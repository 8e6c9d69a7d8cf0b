// Constant text that stays in program memory.
//
// On AVR (Arduino Uno) the compiler copies every const string into the 2 KB of RAM at start-up
// unless it is placed in flash and read back with the `lpm` instruction; the core's messages
// alone would take a third of the RAM. FlashText is a distinct type so a plain string literal
// cannot reach the reply writer by mistake: on the host that would work, on the Uno it would
// read garbage. Elsewhere (host, ARM) flash is addressable and this is a plain pointer.
#ifndef MAELSTROM_FLASH_TEXT_H
#define MAELSTROM_FLASH_TEXT_H

#include <stdint.h>

#if defined(__AVR__)
#define MAELSTROM_FLASH __attribute__((__progmem__))
static inline char maelstromFlashByte(const char* address) {
  char value;
  __asm__ __volatile__("lpm %0, Z" : "=r"(value) : "z"(address));
  return value;
}
#else
#define MAELSTROM_FLASH
static inline char maelstromFlashByte(const char* address) { return *address; }
#endif

namespace maelstrom {

struct FlashText {
  const char* chars;
  char at(uint16_t index) const { return maelstromFlashByte(chars + index); }
};

}  // namespace maelstrom

// MAELSTROM_TEXT(kName, "text") defines the FlashText kName.
#define MAELSTROM_TEXT(name, value)                               \
  static const char name##Chars[] MAELSTROM_FLASH = value;        \
  static const ::maelstrom::FlashText name = {name##Chars}

#endif
