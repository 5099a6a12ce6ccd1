// The little JavaScript Helpdesk needs; no inline scripts anywhere (CSP).
