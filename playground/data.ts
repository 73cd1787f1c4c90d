/**
 * Demo data of the fake Mendix runtime: users, objects and who may read what.
 * GUIDs look like real Mendix GUIDs (entity id in the high bits, object number in the low bits).
 */

/** One attribute as the object card shows it. */
export interface DemoAttribute {
    name: string;
    value: string;
}

/** An object of the demo app, as the runtime's object store keeps it. */
export interface DemoObject {
    entity: string;
    guid: string;
    /** Short label for switchers, e.g. "Order 1001". */
    caption: string;
    attributes: DemoAttribute[];
    /**
     * A custom topic built from a key attribute, the way a Java-free microflow builds it
     * (e.g. `Sales.Order.number.1001`), or undefined when the demo does not use one for this object.
     */
    keyTopic?: string;
}

/** A user of the demo app. `access` lists the GUIDs the user may read, or "all". */
export interface DemoUser {
    name: string;
    fullName: string;
    /** What the access check answers as `displayName`: the name other viewers of an object see. */
    displayName: string;
    access: "all" | readonly string[];
}

export const DEMO_OBJECTS: readonly DemoObject[] = [
    {
        entity: "Sales.Order",
        guid: "281474976710657",
        caption: "Order 1001",
        keyTopic: "Sales.Order.number.1001",
        attributes: [
            { name: "Number", value: "1001" },
            { name: "Customer", value: "Ada Lovelace" },
            { name: "Status", value: "Open" },
            { name: "Total", value: "€ 1,250.00" }
        ]
    },
    {
        entity: "Sales.Order",
        guid: "281474976710658",
        caption: "Order 1002",
        keyTopic: "Sales.Order.number.1002",
        attributes: [
            { name: "Number", value: "1002" },
            { name: "Customer", value: "Grace Hopper" },
            { name: "Status", value: "Shipped" },
            { name: "Total", value: "€ 89.90" }
        ]
    },
    {
        entity: "Sales.Customer",
        guid: "562949953421313",
        caption: "Customer Ada",
        keyTopic: "Sales.Customer.code.ADA",
        attributes: [
            { name: "Code", value: "ADA" },
            { name: "Name", value: "Ada Lovelace" },
            { name: "City", value: "London" }
        ]
    }
];

export const DEMO_USERS: readonly DemoUser[] = [
    { name: "john", fullName: "John Smith · Sales", displayName: "John Smith", access: "all" },
    { name: "mary", fullName: "Mary Jones · Support", displayName: "Mary Jones", access: "all" },
    { name: "eve", fullName: "Eve Adams · no access", displayName: "Eve Adams", access: [] }
];

/** The user a first visit of the playground signs in. */
export const DEFAULT_USER = "john";
