// attacks.js - the portal attacks that need a browser: a page on another
// origin framing the portal stays blank; HTML/JS in a token label is shown
// as text and runs nothing.  Env: PORTAL, OTHER (a URL of another origin
// serving a page that frames PORTAL/my/).  Prints ok/not ok lines.
"use strict";
const { chromium } = require("playwright-core");

const BASE = process.env.PORTAL;
let pass = 0, fail = 0;
const check = (d, c) => { if (c) { pass++; console.log("ok - " + d); } else { fail++; console.log("not ok - " + d); } };
async function nav(page, action) {
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), action()]);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium", headless: true,
    args: process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [],
  });
  try {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    const dialogs = [];
    page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
    await page.goto(BASE + "/my/");
    await page.getByLabel("User name").fill("alice");
    await page.getByLabel("Password").fill("Alice-pw-1");
    await nav(page, () => page.getByRole("button", { name: "Log in" }).click());
    // --- a label made to break out of text and attributes
    const evil = `<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2</script>"'`;
    await page.getByLabel("Label").fill(evil.slice(0, 64));
    await nav(page, () => page.getByRole("button", { name: "Create" }).click());
    await nav(page, () => page.getByRole("link", { name: "Done" }).click());
    const shown = await page.locator("#tokens td.label", { hasText: "<img" }).first().textContent();
    check("label injection: the label is shown as text", shown === evil.slice(0, 64));
    check("label injection: no element was made from it", (await page.locator("#tokens img, #tokens td script").count()) === 0);
    check("label injection: no script ran, no dialog", (await page.evaluate(() => window.__pwned)) === undefined && dialogs.length === 0);
    // --- framed by another origin (the attacker's page)
    const evilPage = await ctx.newPage();
    await evilPage.goto(process.env.OTHER);
    await evilPage.waitForTimeout(1500);
    const frame = evilPage.frames().find((f) => f !== evilPage.mainFrame());
    let inner = 0;
    try { inner = frame ? await frame.locator("input, button, h2").count() : 0; } catch (e) { inner = 0; }
    check("framing: a frame from another origin stays blank (no form in it)", inner === 0);
    const framedUrl = frame ? frame.url() : "";
    check("framing: the frame was there and was refused (" + (framedUrl || "no document") + ")",
      frame !== undefined && !framedUrl.startsWith(BASE + "/my"));
    // --- login CSRF: the attacker's page posts its own credentials to the portal
    const ctx3 = await browser.newContext({ ignoreHTTPSErrors: true });
    const p3 = await ctx3.newPage();
    await p3.goto(process.env.OTHER + "login.html");
    const [resp] = await Promise.all([p3.waitForNavigation({ waitUntil: "load" }), p3.click("#go")]);
    check("login csrf: a form on another origin posting to /my/login is refused (403)", resp && resp.status() === 403);
    check("login csrf: no session cookie set", !(await ctx3.cookies()).some((c) => c.name === "__Host-tokenauth"));
    await ctx3.close();
  } finally {
    await browser.close();
  }
}
main().catch((e) => { fail++; console.log("not ok - attacks.js: " + e); }).finally(() => {
  console.log(`browser attacks: ${pass} passed, ${fail} failed`);
  process.exit(fail === 0 ? 0 : 1);
});
