import { describe, expect, it } from 'vitest';
import { reverses } from './undo.js';

describe('a rollback command that plainly reverses a forward one', () => {
  it('sed -i with the two halves swapped, ln -s to the same link, mv back', () => {
    expect(
      reverses(
        "sed -i 's/port 8080;/port 8081;/' /etc/a.conf",
        "sed -i 's/port 8081;/port 8080;/' /etc/a.conf",
      ),
    ).toBe(true);
    expect(reverses("sudo sed -i 's|a|b|g' /f", "sudo sed -i 's|b|a|g' /f")).toBe(true);
    expect(reverses('ln -sfn /opt/app-2 /opt/app', 'ln -sfn /opt/app-<old> /opt/app')).toBe(true);
    expect(reverses('mv /opt/a /opt/b', 'mv /opt/b /opt/a')).toBe(true);
  });

  it('anything less plain is not an undo', () => {
    // another file, another flag, a regex that is not the other half, no -i
    expect(reverses("sed -i 's/a/b/' /f", "sed -i 's/b/a/' /g")).toBe(false);
    expect(reverses("sed -i 's/a/b/g' /f", "sed -i 's/b/a/' /f")).toBe(false);
    expect(reverses("sed -i 's/^x=.*/x=1/' /f", "sed -i 's/^x=.*/x=0/' /f")).toBe(false);
    expect(reverses("sed 's/a/b/' /f", "sed 's/b/a/' /f")).toBe(false);
    expect(reverses('ln -sfn /opt/app-2 /opt/app', 'ln -sfn /opt/app-1 /opt/other')).toBe(false);
    expect(reverses('mv /opt/a /opt/b', 'mv /opt/a /opt/c')).toBe(false);
    expect(reverses('systemctl stop a', 'systemctl start a')).toBe(false);
    expect(reverses("echo 'unclosed", "echo 'unclosed")).toBe(false);
  });
});
