// Loads the state machine definition with its SAM DefinitionSubstitutions
// filled in, the way `sam deploy` does, so local tools can read it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const definitionPath = fileURLToPath(new URL('../statemachine.asl.json', import.meta.url));

// Dummy ARNs for the two DefinitionSubstitutions of template.yaml.
export const substitutions = {
  InferenceFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:mlsvc-inference',
  FailureFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:mlsvc-failure',
};

// substitute replaces every ${Name} with its value; an unknown name is an
// error, as it is for CloudFormation.
export function substitute(text, values = substitutions) {
  return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name) => {
    if (!(name in values)) throw new Error(`statemachine.asl.json: no substitution for \${${name}}`);
    return values[name];
  });
}

export function loadDefinition(path = definitionPath) {
  return JSON.parse(substitute(readFileSync(path, 'utf8')));
}
