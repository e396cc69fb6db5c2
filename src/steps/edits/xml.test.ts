import { describe, expect, it } from 'vitest';
import { setXmlAttribute } from './xml.js';

const server = `<?xml version="1.0" encoding="UTF-8"?>
<!-- <Connector port="9999"/> in a comment is not an element -->
<Server port="8005" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="8080" protocol="HTTP/1.1"
               connectionTimeout="20000"
               redirectPort="8443" />
    <Connector port='8009' protocol='AJP/1.3' redirectPort='8443'/>
    <Engine name="Catalina" defaultHost="localhost"><![CDATA[ <Connector port="1"/> ]]></Engine>
  </Service>
</Server>`;

const set = (text: string, element: string, attribute: string, value: string) =>
  setXmlAttribute(text, { op: 'xml', element, attribute, value });

describe('setXmlAttribute', () => {
  it('changes only the attribute value, in its own quotes', () => {
    expect(set(server, "Server/Service/Connector[@port='8080']", 'port', '8081')).toBe(
      server.replace('<Connector port="8080"', '<Connector port="8081"'),
    );
    expect(set(server, "//Connector[@protocol='AJP/1.3']", 'redirectPort', "84'43")).toBe(
      server.replace("redirectPort='8443'/>", "redirectPort='84&apos;43'/>"),
    );
    expect(set(server, 'Server', 'shutdown', 'SHUTDOWN')).toBe(server);
  });

  it('adds a missing attribute after the last one, before /> or >', () => {
    expect(set(server, "//Connector[@port='8080']", 'maxThreads', 'a<b&c')).toBe(
      server.replace('redirectPort="8443" />', 'redirectPort="8443" maxThreads="a&lt;b&amp;c" />'),
    );
    expect(set('<a><b/></a>\r\n', 'a/b', 'x', '1')).toBe('<a><b x="1"/></a>\r\n');
  });

  it('compares values decoded', () => {
    const text = '<a v="x&amp;y" w="&#65;"/>';
    expect(set(text, "a[@w='A']", 'v', 'x&y')).toBe(text);
  });

  it('refuses none or several matches, naming the lines', () => {
    expect(() => set(server, 'Server/Service/Connector', 'port', '1')).toThrow(
      /2 elements match .*\(lines 5, 8\)/,
    );
    expect(() => set(server, "//Connector[@port='9999']", 'port', '1')).toThrow(/no element matches/);
    expect(() => set(server, 'Service', 'name', 'x')).toThrow(/no element matches/);
  });

  it('refuses what a scanner cannot read safely', () => {
    expect(() => set('<!DOCTYPE a [<!ENTITY e "x">]><a/>', 'a', 'b', '1')).toThrow(/internal subset/);
    expect(() => set('<a v="&e;"/>', "a[@v='x']", 'b', '1')).toThrow(/unknown entity/);
    expect(() => set('<a><b></a>', 'a', 'x', '1')).toThrow(/end tag does not close <b>/);
    expect(() => set('<a x="1" x="2"/>', 'a', 'x', '1')).toThrow(/written twice/);
    expect(() => set('<a>', 'a', 'x', '1')).toThrow(/never closed/);
    expect(() => set('<a/>', 'a[port=1]', 'x', '1')).toThrow(/element path/);
  });
});
