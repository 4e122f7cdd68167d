// Runs one Automation API operation on the TypeScript example's program as an inline program,
// for tests/typescript_test.go:
//
//   node driver.js up|preview|refresh|destroy
//
// with E2E_PROGRAM (the compiled program.js), E2E_PROJECT, E2E_STACK, E2E_WORK_DIR and
// E2E_SECRET_CONFIG (a JSON object of config keys to set as secrets) in the environment.
// Progress goes to stderr; the result is one JSON line on stdout: {changes, outputs}, with
// secret outputs' values replaced by "[secret]".
"use strict";

const { LocalWorkspace } = require("@pulumi/pulumi/automation");

function env(name) {
    const value = process.env[name];
    if (!value) {
        throw new Error(`${name} is not set`);
    }
    return value;
}

async function main() {
    const op = process.argv[2];
    const { edgeSecrets } = require(env("E2E_PROGRAM"));
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: env("E2E_STACK"), projectName: env("E2E_PROJECT"), program: async () => edgeSecrets() },
        { workDir: env("E2E_WORK_DIR") },
    );
    const config = {};
    for (const [key, value] of Object.entries(JSON.parse(process.env.E2E_SECRET_CONFIG || "{}"))) {
        config[key] = { value, secret: true };
    }
    if (Object.keys(config).length > 0) {
        await stack.setAllConfig(config);
    }

    const onOutput = (text) => process.stderr.write(text);
    let changes;
    let outputs = {};
    switch (op) {
        case "up": {
            const res = await stack.up({ onOutput });
            changes = res.summary.resourceChanges;
            outputs = res.outputs;
            break;
        }
        case "preview":
            changes = (await stack.preview({ onOutput })).changeSummary;
            break;
        case "refresh":
            changes = (await stack.refresh({ onOutput })).summary.resourceChanges;
            break;
        case "destroy":
            changes = (await stack.destroy({ onOutput })).summary.resourceChanges;
            break;
        default:
            throw new Error(`unknown operation ${JSON.stringify(op)}: use up, preview, refresh or destroy`);
    }
    const shown = {};
    for (const [name, output] of Object.entries(outputs)) {
        shown[name] = output.secret ? "[secret]" : output.value;
    }
    process.stdout.write(JSON.stringify({ changes, outputs: shown }) + "\n");
}

main().catch((err) => {
    process.stderr.write(`driver: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
});
