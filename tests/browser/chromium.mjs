// The browser every page test drives: Debian's chromium through playwright-core, headless, with
// nothing of its own on the network (no updates, sync or QUIC) so a test sees only the page's requests.
import { chromium } from 'playwright-core';

// Starts it; `extraArgs` are added to the command line (e.g. a certificate allow-list).
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.PFAD_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', ...extraArgs],
  });
}
