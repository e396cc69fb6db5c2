/** Where the sudo password of `become` can come from, for messages (inventory, transport, CLI). */
export const BECOME_PASSWORD_SOURCES =
  '--ask-become-pass (a prompt), CUTOVER_BECOME_PASSWORD, or --become-password-file FILE';
